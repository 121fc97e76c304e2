"""The SLO gate's error rates on traffic shapes production has: clustered failures, a baseline that shifts
mid-stage, a regression in one tenant. Vectorised (`gates.decision.verdicts`), so 2,000 rollouts per cell
at every traffic level fit in minutes on two cores.

    python -m benchmarks.gate_grid            # full grid, writes benchmarks/results/gate_grid.md
    python -m benchmarks.gate_grid --quick    # a few cells, seconds

Traffic per minute, per rollout (`generate`): Poisson requests (stable has 19x the canary's: 5% weight);
errors at 0.3% of requests, either independent (binomial) or in clusters: clusters arrive as a Poisson
process at rate/mean-size per request, each within one minute, sizes drawn from a rounded-up lognormal
with sigma 1 (heavy-tailed: the largest of a few hundred clusters is ~10x the mean) scaled to the
cell's mean. Slow shares (0.6% slower than 0.5 s, 0.1% slower than 2 s) independent. A shift multiplies
stable's error rate by U(2, 4) from a minute drawn uniformly in [5, 40). The tenant cell puts the canary's
regression (3x) in one of five tenants carrying 10% of the traffic: the platform gates each tenant
(one SLO gate per tenant), so the gate under test sees that tenant's traffic; "one gate over all
tenants" beside it shows what the aggregate would hide.

The stage is the default policy's first gated one (10 minutes minimum, 40 maximum); "once" is one look
at the minimum duration, "every 5m" looks at minutes 5, 10, ..., 40 and keeps the first pass or fail.
Memory stays in the tens of MB: one cell's arrays at a time, clusters drawn in chunks of rollouts.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks import gate_methods as methods
from gates.decision import Timing, TrackCounts, verdicts
from settings.gates import SloGateCriteria

RESULTS = Path(__file__).with_name("results")
CRITERIA = SloGateCriteria()
ERROR_RATE, SLOW_SHARE, VERY_SLOW_SHARE = 0.003, 0.006, 0.001
WEIGHT = 0.05
MIN_MINUTES, MAX_MINUTES, LOOK_MINUTES = 10, 40, 5
LEVELS = (1_000, 5_000, 20_000, 100_000)  # canary requests per hour
SCHEDULES = {"once": (MIN_MINUTES,), "every 5m": tuple(range(LOOK_MINUTES, MAX_MINUTES + 1, LOOK_MINUTES))}
CLUSTER_SIGMA = 1.0
CHUNK = 250  # rollouts per draw of clusters: bounds the memory of the largest cells
TENANT_SHARE, TENANTS = 0.10, 5


@dataclass(frozen=True)
class Cell:
    """What the canary really is. `regression` is its error factor against stable's rate at the stage start."""

    name: str
    error_factor: float = 1.0
    clusters: str = ""  # "stable", "canary" or "both": whose errors come in clusters
    cluster_mean: float = 1.0
    shift: bool = False  # stable's error rate rises 2-4x at a random minute
    tenant: bool = False  # the regression is in one tenant of five (10% of the traffic)

    @property
    def healthy(self) -> bool:
        return self.error_factor <= 1.0

    @property
    def must_not_pass(self) -> bool:
        return self.error_factor >= CRITERIA.regression_factor


def cells() -> list[Cell]:
    out = [Cell("independent, healthy"), Cell("independent, errors 1.5x", 1.5)]
    for where in ("stable", "canary", "both"):
        for mean in (2, 10, 50):
            out.append(Cell(f"clusters in {where} (mean {mean}), healthy", 1.0, where, mean))
            out.append(Cell(f"clusters in {where} (mean {mean}), errors 1.5x", 1.5, where, mean))
    out += [
        Cell("stable's errors 2-4x mid-stage, healthy", 1.0, shift=True),
        Cell("stable's errors 2-4x mid-stage, errors 1.5x", 1.5, shift=True),
        Cell("one tenant of five (10%) at 3x errors", 3.0, tenant=True),
    ]
    return out


def _lognormal_mu(mean: float) -> float:
    """The lognormal location whose rounded-up draws have `mean` on average (solved once, by bisection)."""
    rng = np.random.default_rng(0)
    base = np.exp(CLUSTER_SIGMA * rng.standard_normal(200_000))
    low, high = -5.0, math.log(mean) + 1
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if np.ceil(np.exp(mid) * base).mean() < mean else (low, mid)
    return (low + high) / 2


def _errors(rng: np.random.Generator, requests: np.ndarray, rate: np.ndarray, cluster_mean: float) -> np.ndarray:
    """Errors per (rollout, minute): binomial, or clusters of lognormal size with the same mean rate."""
    if cluster_mean <= 1:
        return rng.binomial(requests, np.clip(rate, 0, 1))
    mu = _lognormal_mu(cluster_mean)
    out = np.empty_like(requests)
    for start in range(0, len(requests), CHUNK):
        n, r = requests[start : start + CHUNK], rate[start : start + CHUNK]
        clusters = rng.poisson(n * r / cluster_mean)
        sizes = np.ceil(np.exp(mu + CLUSTER_SIGMA * rng.standard_normal(int(clusters.sum()))))
        cell = np.repeat(np.arange(clusters.size), clusters.ravel())
        totals = np.bincount(cell, weights=sizes, minlength=clusters.size).reshape(clusters.shape)
        out[start : start + CHUNK] = np.minimum(totals, n)
    return out


def _track(
    rng: np.random.Generator, per_minute: float, rollouts: int, rate: np.ndarray, cluster_mean: float
) -> np.ndarray:
    """Counts, shape (rollouts, minutes, 4): requests, errors, slow, very slow."""
    requests = rng.poisson(per_minute, rate.shape)
    slow = rng.binomial(requests, SLOW_SHARE)
    very_slow = rng.binomial(slow, VERY_SLOW_SHARE / SLOW_SHARE)
    return np.stack([requests, _errors(rng, requests, rate, cluster_mean), slow, very_slow], axis=-1)


def generate(cell: Cell, per_hour: float, rollouts: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(canary, stable) counts per minute over the stage's maximum duration."""
    rng = np.random.default_rng(seed)
    shape = (rollouts, MAX_MINUTES)
    canary_per_minute = per_hour / 60
    stable_per_minute = canary_per_minute * (1 - WEIGHT) / WEIGHT
    stable_rate = np.full(shape, ERROR_RATE)
    if cell.shift:
        at = rng.integers(5, MAX_MINUTES, rollouts)[:, None]
        factor = rng.uniform(2, 4, rollouts)[:, None]
        stable_rate = np.where(np.arange(MAX_MINUTES)[None, :] >= at, ERROR_RATE * factor, ERROR_RATE)
    canary_rate = np.full(shape, ERROR_RATE * cell.error_factor)
    in_canary = cell.cluster_mean if cell.clusters in ("canary", "both") else 1
    in_stable = cell.cluster_mean if cell.clusters in ("stable", "both") else 1
    canary = _track(rng, canary_per_minute, rollouts, canary_rate, in_canary)
    stable = _track(rng, stable_per_minute, rollouts, stable_rate, in_stable)
    return canary, stable


def _counts(track: np.ndarray, minute: int) -> TrackCounts:
    units = track[:, :minute, :]
    return TrackCounts.from_units(units[..., 0], units[..., 1], units[..., 2], units[..., 3])


def _timing(minute: int) -> Timing:
    return Timing(minute * 60.0, MIN_MINUTES * 60.0, MAX_MINUTES * 60.0)


def judge(method: str, canary: np.ndarray, stable: np.ndarray, minute: int, sample_size: int) -> np.ndarray:
    """Verdicts of every rollout at one look, shape (rollouts,)."""
    if method == "ours":
        return verdicts(_counts(canary, minute), _counts(stable, minute), CRITERIA, _timing(minute))
    c, s = canary[:, :minute, :].sum(axis=1), stable[:, :minute, :].sum(axis=1)
    if method == "static":
        out = methods.static(c, minute * 60.0, MIN_MINUTES * 60.0)
    else:
        out = methods.fixed_sample(c, s, minute * 60.0, MIN_MINUTES * 60.0, CRITERIA.false_fail_rate, sample_size)
    return np.broadcast_to(out, (len(canary),))


def final(method: str, canary: np.ndarray, stable: np.ndarray, looks: tuple[int, ...], sample_size: int) -> np.ndarray:
    """Each rollout's first pass or fail over the looks, else its last verdict."""
    out = np.full(len(canary), "inconclusive", dtype=object)
    open_ = np.ones(len(canary), dtype=bool)
    for minute in looks:
        current = judge(method, canary, stable, minute, sample_size)
        out[open_] = current[open_]
        open_ &= ~np.isin(current, ("pass", "fail"))
        if not open_.any():
            break
    return out


@dataclass(frozen=True)
class Result:
    cell: Cell
    level: int
    schedule: str
    method: str
    rollouts: int
    passed: int
    failed: int

    @property
    def wrong(self) -> int:
        """False passes of a regression, false fails of a healthy canary."""
        return self.passed if self.cell.must_not_pass else self.failed if self.cell.healthy else 0

    @property
    def budget(self) -> float:
        return CRITERIA.false_pass_rate if self.cell.must_not_pass else CRITERIA.false_fail_rate

    @property
    def allowed(self) -> float:
        """The configured rate plus three standard errors of a rate measured on this many rollouts."""
        return self.budget + 3 * math.sqrt(self.budget * (1 - self.budget) / self.rollouts)

    @property
    def ok(self) -> bool:
        return self.wrong / self.rollouts <= self.allowed


def _tenant_traffic(cell: Cell, level: int, rollouts: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The regressed tenant's own traffic (what its gate sees) and all five tenants summed."""
    regressed = generate(cell, level * TENANT_SHARE, rollouts, seed)
    others = generate(Cell("healthy"), level * (1 - TENANT_SHARE), rollouts, seed + 1)
    summed = (regressed[0] + others[0], regressed[1] + others[1])
    return {"ours": regressed, "ours, one gate over all tenants": summed}


def run(
    grid: list[Cell], levels: tuple[int, ...], rollouts: int, methods_: tuple[str, ...] = ("ours",), seed: int = 19
) -> list[Result]:
    sample_size = fixed_sample_size()
    results = []
    for cell in grid:
        for level in levels:
            # A seed of the cell's own, so one cell run alone (as the tests do) draws what the full grid draws.
            cell_seed = seed * 1_000_003 + zlib.crc32(cell.name.encode()) % 1_000_003 + level
            if cell.tenant:
                traffic = _tenant_traffic(cell, level, rollouts, cell_seed)
            else:
                traffic = {"ours": generate(cell, level, rollouts, cell_seed)}
            for method in methods_:
                for label, (canary, stable) in traffic.items() if method == "ours" else [(method, traffic["ours"])]:
                    for schedule, looks in SCHEDULES.items():
                        out = final(method, canary, stable, looks, sample_size)
                        passed, failed = int((out == "pass").sum()), int((out == "fail").sum())
                        results.append(Result(cell, level, schedule, label, rollouts, passed, failed))
    return results


# --- requests to a decision on independent traffic -------------------------------------------------------

Judge = Callable[[np.ndarray, np.ndarray], np.ndarray]
ANYTIME = Timing(1.0, 0.0, 1e12)  # the minimum duration off: the statistics' own sample size


def ours_anytime(canary: np.ndarray, stable: np.ndarray) -> np.ndarray:
    t = canary.shape[1]
    return verdicts(_counts(canary, t), _counts(stable, t), CRITERIA, ANYTIME)


def independent_streams(
    error_factor: float, step: int, steps: int, streams: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Independent traffic in units of `step` canary requests (one unit of time each), shape (streams, steps, 4)."""
    rng = np.random.default_rng(seed)
    shape = (streams, steps)
    canary = _track(rng, step, streams, np.full(shape, ERROR_RATE * error_factor), 1)
    stable = _track(rng, step * (1 - WEIGHT) / WEIGHT, streams, np.full(shape, ERROR_RATE), 1)
    return canary, stable


def requests_to_decision(judge: Judge, canary: np.ndarray, stable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canary requests at each stream's first pass or fail, looking after every unit, and that verdict;
    undecided streams are absent."""
    streams, steps = canary.shape[:2]
    at = np.zeros(streams, dtype=int)
    verdict = np.full(streams, "", dtype=object)
    open_ = np.arange(streams)
    for t in range(1, steps + 1):
        current = judge(canary[open_, :t], stable[open_, :t])
        decided = np.isin(current, ("pass", "fail"))
        at[open_[decided]] = canary[open_[decided], :t, 0].sum(axis=1)
        verdict[open_[decided]] = current[decided]
        open_ = open_[~decided]
        if not len(open_):
            break
    done = verdict != ""
    return at[done], verdict[done]


def floors() -> dict[str, dict[str, int]]:
    """Canary requests a fixed-sample test needs for each check, under two designs.

    "the gate's hypotheses": tolerance (1.1x errors, 1.2x slow share) against the 1.5x regression, size
    1% per check (the gate's 5% false-fail budget split over five) and power 99% (its 1% false-pass
    budget). "equality vs 1.5x": 1.0x against 1.5x, size 1% and power 95% (26,145 canary requests for
    errors). For the limits, the healthy rate against the limit under the same two pairs of rates.
    """
    k = (1 - WEIGHT) / WEIGHT
    beta, alpha = CRITERIA.false_pass_rate, CRITERIA.false_fail_rate
    rates = {"error_ratio": ERROR_RATE, "latency_p95": SLOW_SHARE}
    tolerances = {"error_ratio": CRITERIA.error_ratio_vs_stable, "latency_p95": CRITERIA.slow_ratio_vs_stable}
    limits = {
        "error_slo": (ERROR_RATE, CRITERIA.error_ratio_max),
        "latency_p95_slo": (SLOW_SHARE, CRITERIA.slow_ratio_max),
        "latency_p99_slo": (VERY_SLOW_SHARE, CRITERIA.very_slow_ratio_max),
    }
    regression = CRITERIA.regression_factor
    gate = {n: methods.comparison_floor(r, tolerances[n], regression, alpha / 5, beta, k) for n, r in rates.items()}
    gate |= {n: methods.limit_floor(r, lim, alpha / 5, beta) for n, (r, lim) in limits.items()}
    equality = {n: methods.comparison_floor(r, 1.0, regression, beta, alpha, k) for n, r in rates.items()}
    equality |= {n: methods.limit_floor(r, lim, beta, alpha) for n, (r, lim) in limits.items()}
    return {"the gate's hypotheses": gate, "equality vs 1.5x": equality}


def fixed_sample_size() -> int:
    """The fixed-sample baseline's own design: equality vs a 1.5x regression, alpha split over two tests."""
    k = (1 - WEIGHT) / WEIGHT
    alpha = CRITERIA.false_fail_rate / 2
    return max(
        methods.comparison_floor(rate, 1.0, CRITERIA.regression_factor, alpha, CRITERIA.false_pass_rate, k)
        for rate in (ERROR_RATE, SLOW_SHARE)
    )


def table(results: list[Result], levels: tuple[int, ...]) -> list[str]:
    """One row per cell and method: the wrong-way rate (false pass or false fail) per level and schedule."""
    head = " | ".join(f"{s} {lv:,}/h" for s in SCHEDULES for lv in levels)
    lines = [f"| cell | method | rate (budget) | {head} |", "|---|---|---|" + "---|" * len(levels) * len(SCHEDULES)]
    rows: dict[tuple[str, str], dict[tuple[str, int], Result]] = {}
    for r in results:
        rows.setdefault((r.cell.name, r.method), {})[(r.schedule, r.level)] = r
    for (name, method), by in rows.items():
        first = next(iter(by.values()))
        kind = "false pass (≤1%)" if first.cell.must_not_pass else "false fail (≤5%)"
        values = []
        for schedule in SCHEDULES:
            for level in levels:
                r = by.get((schedule, level))
                if r is None:
                    values.append("")
                    continue
                mark = " **over**" if r.method == "ours" and not r.ok else ""
                values.append(f"{r.wrong / r.rollouts:.2%}{mark}")
        lines.append(f"| {name} | {method} | {kind} | " + " | ".join(values) + " |")
    return lines


@dataclass(frozen=True)
class Efficiency:
    name: str
    streams: int
    decided: np.ndarray  # canary requests at each decided stream's decision
    wrong: int

    def quantile(self, q: float) -> float:
        """Over all streams; an undecided stream counts as never deciding."""
        values = np.concatenate([np.sort(self.decided), np.full(self.streams - len(self.decided), np.inf)])
        return float(values[min(len(values) - 1, math.ceil(q * len(values)) - 1)])


def efficiency(streams: int) -> list[Efficiency]:
    """Requests to a decision on independent traffic, minimum duration off, a look every 1% of the error
    comparison's floor under the gate's hypotheses (0.1% of it for the 5x regression)."""
    floor = floors()["the gate's hypotheses"]["error_ratio"]
    out = []
    for name, factor, resolution, horizon, seed in (("healthy", 1.0, 0.01, 4.0, 7), ("errors 5x", 5.0, 0.001, 0.5, 8)):
        step = max(1, round(floor * resolution))
        canary, stable = independent_streams(factor, step, round(horizon / resolution), streams, seed)
        decided, verdict = requests_to_decision(ours_anytime, canary, stable)
        right = "pass" if factor == 1.0 else "fail"
        out.append(Efficiency(name, streams, decided, int((verdict != right).sum())))
    return out


def efficiency_table(results: list[Efficiency]) -> list[str]:
    named = floors()
    lines = [
        "| truth | decided | wrong way | median | 90th percentile | floor: criterion, design | median / floor "
        "| 90th / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        median, p90 = r.quantile(0.5), r.quantile(0.9)
        first = True
        for design, per_check in named.items():
            for check, floor in per_check.items():
                head = (
                    f"| {r.name} | {len(r.decided):,}/{r.streams:,} | {r.wrong} | {median:,.0f} | {p90:,.0f} "
                    if first
                    else "| | | | | "
                )
                lines.append(f"{head}| {check}, {design}: {floor:,} | {median / floor:.3f}x | {p90 / floor:.3f}x |")
                first = False
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few cells and rollouts, seconds")
    parser.add_argument("--rollouts", type=int, default=2000)
    parser.add_argument("--out", type=Path, help="default: results/gate_grid.md; --quick writes none unless given")
    args = parser.parse_args(argv)
    out = args.out or (None if args.quick else RESULTS / "gate_grid.md")
    grid, levels, rollouts = cells(), LEVELS, args.rollouts
    if args.quick:
        grid, levels, rollouts = [c for c in grid if "mean 10" in c.name or c.shift or c.tenant], (5_000, 100_000), 200
    started = time.perf_counter()
    results = run(grid, levels, rollouts, ("ours", "static", "fixed-sample"))
    speed = efficiency(100 if args.quick else 1000)
    seconds = time.perf_counter() - started
    over = [r for r in results if r.method == "ours" and not r.ok]
    text = [
        "# SLO gate: clustered failures, a shifting baseline, one tenant's regression",
        "",
        f"`python -m benchmarks.gate_grid{' --quick' if args.quick else ''}`: {rollouts:,} rollouts per cell, level "
        f"and schedule; {seconds:.0f} s wall. Rates are false passes of regressions (budget 1%) and false fails "
        "of healthy canaries (budget 5%); a cell is over when it exceeds the budget plus three standard errors "
        f"({'none' if not over else len(over)} of ours over). Fixed-sample size: {fixed_sample_size():,} canary "
        "requests.",
        "",
        *table(results, levels),
        "",
        "## Requests to a decision on independent traffic (ours, minimum duration off)",
        "",
        "Looks every 1% of the error comparison's floor under the gate's hypotheses (0.1% for the 5x "
        "regression); each figure against each criterion's fixed-sample floor under both designs "
        "(`floors()`): the gate's hypotheses (tolerance vs 1.5x, size 1% per check, power 99%) and "
        "equality vs 1.5x (size 1%, power 95%).",
        "",
        *efficiency_table(speed),
        "",
    ]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(text))
    print("\n".join(text))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
