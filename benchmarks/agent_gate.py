"""The agent checks' decision quality on heavy-tailed token traffic: `python -m benchmarks.agent_gate`.

Rollouts with known truth, drawn per minute for both tracks (5% canary weight) and judged at once by
`gates.agent_checks.usage_verdicts` (what the gate's `input_tokens_per_request`, `output_tokens_per_request`
and `cost_per_request` give each rollout), beside a static threshold (canary tokens per request below 1.5x
last week's stable, judged at the same looks).

Traffic: Poisson requests per minute; in 5% of minutes both tracks get 5x the requests (a traffic burst)
and in another 5% 3x the tokens per request (a batch of long documents), the same minutes for both tracks.
Tokens per request are log-normal (input: mean 1,500, sigma 1.0; output: mean 300, sigma 1.3) and 3% of
requests are runaways with 10x that (a loop, a huge context): a tail heavier than the log-normal's. A
minute's sum is drawn request by request up to EXACT requests, above that from the gamma law with the
sum's mean and variance (its skewness is below 1 there). Cost is priced per token (USD per million, which
is micro-dollars per token), the canary's prices times `price_factor` (a model change).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gates.agent_checks import AmountCounts, usage_verdicts
from gates.decision import FAIL, INCONCLUSIVE, PASS, Timing
from settings.gates import AGENT_CHECK_NAMES, AgentGateChecks, SloGateCriteria

LEVELS = (50, 500, 5_000, 50_000)  # canary requests per 5 minutes
LOOK_MINUTES = 5
HORIZON_LOOKS = 12  # an hour
MIN_LOOKS = 2  # a 10-minute minimum duration
SCHEDULES = {"once": [MIN_LOOKS], "every 5m": list(range(1, HORIZON_LOOKS + 1))}
CANARY_WEIGHT = 0.05
BURST_CHANCE = 0.05
TRAFFIC_BURST = 5.0
TOKEN_BURST = 3.0
RUNAWAY_CHANCE = 0.03
RUNAWAY_FACTOR = 10.0
EXACT = 256
INPUT = (1500.0, 1.0)  # (mean, sigma of the log)
OUTPUT = (300.0, 1.3)
PRICE = (2.5, 10.0)  # USD per million input, output tokens
STATIC_FACTOR = 1.5
WEEKLY_DRIFT = 0.1  # last week's tokens per request differ from this hour's by a log-normal factor
CHECKS = AgentGateChecks(
    enabled=list(AGENT_CHECK_NAMES), prices={"m": {"input_per_million": 2.5, "output_per_million": 10}}
)
CRITERIA = SloGateCriteria()


@dataclass(frozen=True)
class Truth:
    name: str
    input_factor: float = 1.0
    output_factor: float = 1.0
    price_factor: float = 1.0

    @property
    def regression(self) -> bool:
        return max(self.input_factor, self.output_factor, self.price_factor) > 1.0


TRUTHS = (
    Truth("equal"),
    Truth("input tokens 1.3x", input_factor=1.3),
    Truth("output tokens 1.3x", output_factor=1.3),
    Truth("cost 1.3x (a pricier model, same tokens)", price_factor=1.3),
)


def _lognormal_sum(rng: np.random.Generator, n: np.ndarray, mean: float, sigma: float) -> np.ndarray:
    """Sums of n log-normal draws: exact up to EXACT per cell, else gamma with the same mean and variance."""
    mu = math.log(mean) - sigma**2 / 2
    variance = mean**2 * (math.exp(sigma**2) - 1)
    out = np.zeros(n.shape)
    small = (n > 0) & (n <= EXACT)
    if small.any():
        counts = n[small]
        width = int(counts.max())
        draws = rng.lognormal(mu, sigma, (counts.size, width))
        draws[np.arange(width)[None, :] >= counts[:, None]] = 0.0
        out[small] = draws.sum(axis=1)
    large = n > EXACT
    if large.any():
        counts = n[large].astype(float)
        out[large] = rng.gamma(counts * mean**2 / variance, variance / mean)
    return out


def _tokens(rng: np.random.Generator, n: np.ndarray, kind: tuple[float, float], factor: float) -> np.ndarray:
    runaways = rng.binomial(n, RUNAWAY_CHANCE)
    body = _lognormal_sum(rng, n - runaways, *kind)
    tail = RUNAWAY_FACTOR * _lognormal_sum(rng, runaways, *kind)
    return factor * (body + tail)


@dataclass(frozen=True)
class Rollouts:
    """Per-minute requests and amounts of both tracks, shape (R, minutes) each."""

    canary_requests: np.ndarray
    stable_requests: np.ndarray
    canary: tuple[np.ndarray, np.ndarray, np.ndarray]  # input tokens, output tokens, cost (micro-dollars)
    stable: tuple[np.ndarray, np.ndarray, np.ndarray]
    last_week: np.ndarray  # stable's tokens per request last week, shape (R,)

    def at(self, minutes: int) -> tuple[list[AmountCounts], list[AmountCounts]]:
        def counts(amounts: tuple[np.ndarray, ...], requests: np.ndarray) -> list[AmountCounts]:
            return [AmountCounts.from_units(a[:, :minutes], requests[:, :minutes]) for a in amounts]

        return counts(self.canary, self.canary_requests), counts(self.stable, self.stable_requests)


def draw(truth: Truth, level: int, rollouts: int, seed: int, minutes: int = HORIZON_LOOKS * LOOK_MINUTES) -> Rollouts:
    rng = np.random.default_rng(seed)
    shape = (rollouts, minutes)
    canary_rate = level / LOOK_MINUTES
    stable_rate = canary_rate * (1 - CANARY_WEIGHT) / CANARY_WEIGHT
    traffic = np.where(rng.random(shape) < BURST_CHANCE, TRAFFIC_BURST, 1.0)
    long_prompts = np.where(rng.random(shape) < BURST_CHANCE, TOKEN_BURST, 1.0)
    n_c, n_s = rng.poisson(canary_rate * traffic), rng.poisson(stable_rate * traffic)

    def track(n: np.ndarray, input_factor: float, output_factor: float, price_factor: float) -> tuple:
        inputs = long_prompts * _tokens(rng, n, INPUT, input_factor)
        outputs = long_prompts * _tokens(rng, n, OUTPUT, output_factor)
        return inputs, outputs, price_factor * (PRICE[0] * inputs + PRICE[1] * outputs)

    canary = track(n_c, truth.input_factor, truth.output_factor, truth.price_factor)
    stable = track(n_s, 1.0, 1.0, 1.0)
    true_mean = (INPUT[0] + OUTPUT[0]) * (1 + RUNAWAY_CHANCE * (RUNAWAY_FACTOR - 1))
    true_mean *= 1 + BURST_CHANCE * (TOKEN_BURST - 1)
    last_week = true_mean * rng.lognormal(-(WEEKLY_DRIFT**2) / 2, WEEKLY_DRIFT, rollouts)
    return Rollouts(n_c, n_s, canary, stable, last_week)


@dataclass(frozen=True)
class Outcome:
    passed: float
    failed: float
    undecided: float
    median_requests: float  # canary requests at a decision, over decided rollouts
    rollouts: int


def judge(rollouts: Rollouts, looks: list[int], method: str = "ours") -> Outcome:
    """The first pass or fail at the listed looks decides a rollout; otherwise it stays undecided."""
    count = rollouts.canary_requests.shape[0]
    final = np.full(count, INCONCLUSIVE)
    decided_at = np.zeros(count)
    open_ = np.ones(count, dtype=bool)
    for look in looks:
        minutes = look * LOOK_MINUTES
        timing = Timing(minutes * 60.0, MIN_LOOKS * LOOK_MINUTES * 60.0, HORIZON_LOOKS * LOOK_MINUTES * 60.0)
        requests = rollouts.canary_requests[:, :minutes].sum(axis=1)
        if method == "ours":
            canary, stable = rollouts.at(minutes)
            codes = usage_verdicts(canary, stable, CHECKS, CRITERIA, timing)
        else:
            tokens = (rollouts.canary[0][:, :minutes] + rollouts.canary[1][:, :minutes]).sum(axis=1)
            per_request = tokens / np.maximum(requests, 1)
            codes = np.where(per_request < STATIC_FACTOR * rollouts.last_week, PASS, FAIL)
            codes = np.where(look < MIN_LOOKS, INCONCLUSIVE, codes)
        deciding = open_ & (codes != INCONCLUSIVE)
        final[deciding] = codes[deciding]
        decided_at[deciding] = requests[deciding]
        open_ &= ~deciding
    decided = final != INCONCLUSIVE
    median = float(np.median(decided_at[decided])) if decided.any() else math.nan
    return Outcome(float((final == PASS).mean()), float((final == FAIL).mean()), float(open_.mean()), median, count)


def run(rollouts: int, levels: tuple[int, ...] = LEVELS) -> dict[tuple[str, int, str, str], Outcome]:
    results = {}
    for t, truth in enumerate(TRUTHS):
        for level in levels:
            data = draw(truth, level, rollouts, seed=1000 * t + level)
            for schedule, looks in SCHEDULES.items():
                for method in ("ours", "static"):
                    results[(truth.name, level, schedule, method)] = judge(data, looks, method)
    return results


def allowed(rate: float, rollouts: int) -> float:
    return rate + 3 * math.sqrt(rate * (1 - rate) / rollouts)


def report(results: dict[tuple[str, int, str, str], Outcome], rollouts: int, seconds: float) -> str:
    lines = [
        "# Agent checks: tokens and cost per request",
        "",
        f"Command: `python -m benchmarks.agent_gate`; {rollouts:,} rollouts per cell; wall time {seconds:.0f} s.",
        "",
        "Canary weight 5%, minimum duration 10 minutes, looks at 10 minutes (once) or every 5 minutes for an hour; "
        "all five agent checks on (false-fail share per check 5%/10 = 0.5%), regression 1.3x, tolerance 1.1x. "
        "Ours = the usage checks together (input, output, cost); static = canary tokens per request < 1.5x last "
        "week's stable (which differs from this hour's by a log-normal factor, sigma 0.1). Traffic: see the "
        "module's docstring. Budgets with 3 standard errors at this count: false pass "
        f"{allowed(CRITERIA.false_pass_rate, rollouts):.2%}, "
        f"false fail {allowed(CRITERIA.false_fail_rate, rollouts):.2%}.",
        "",
        "| truth | method | look | rate | " + " | ".join(f"{level:,}/5m" for level in LEVELS) + " |",
        "|---|---|---|---|" + "---|" * len(LEVELS),
    ]
    for truth in TRUTHS:
        rate = "false pass" if truth.regression else "false fail"
        for method in ("ours", "static"):
            for schedule in SCHEDULES:
                cells = []
                for level in LEVELS:
                    outcome = results.get((truth.name, level, schedule, method))
                    if outcome is None:
                        cells.append("")
                        continue
                    wrong = outcome.passed if truth.regression else outcome.failed
                    cells.append(f"{wrong:.2%} ({outcome.undecided:.0%} undecided)")
                lines.append(f"| {truth.name} | {method} | {schedule} | {rate} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Canary requests to a decision (median over decided rollouts, every 5m):",
        "",
        "| truth | method | " + " | ".join(f"{level:,}/5m" for level in LEVELS) + " |",
        "|---|---|" + "---|" * len(LEVELS),
    ]
    for truth in TRUTHS:
        for method in ("ours", "static"):
            cells = []
            for level in LEVELS:
                outcome = results.get((truth.name, level, "every 5m", method))
                cells.append(
                    "" if outcome is None or math.isnan(outcome.median_requests) else f"{outcome.median_requests:,.0f}"
                )
            lines.append(f"| {truth.name} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=2000)
    parser.add_argument("--quick", action="store_true", help="100 rollouts, two levels: that it runs")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/agent_gate.md"))
    args = parser.parse_args(argv)
    rollouts, levels = (100, LEVELS[:2]) if args.quick else (args.rollouts, LEVELS)
    started = time.monotonic()
    results = run(rollouts, levels)
    text = report(results, rollouts, time.monotonic() - started)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
