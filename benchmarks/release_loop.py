"""A day of per-minute traffic through two release loops: ours (the SLO gate looked at every resync interval,
`planning.release.step` moving the stages) and a Flagger-style loop (fixed interval, a threshold count of
failed checks), on the same traffic.

    python -m benchmarks.release_loop              # 200 days per scenario (the README's table)
    python -m benchmarks.release_loop --days 20    # quicker

Traffic: one agent in one tenant, requests per minute following a day's curve (trough 120/min at 03:00,
peak 1,200/min at 15:00), Poisson per minute; 0.3% failed, 0.6% slower than 0.5 s, 0.1% slower than
2 s, binomial per minute (benchmarks/traffic.py's healthy profile). The release starts at 09:00; the
canary gets its weight's share of each minute's requests. A regression multiplies the canary's failed
share from a known minute. A weight decided at the end of minute t serves from minute t + 1 on, in both
loops.

Ours: stages 5, 25, 50, 100 with the default canary policy (10, 20, 30 minutes minimum, 4x maximum, then
waiting on to `canary.extended_max_duration`, 4 hours, while the gate is inconclusive with canary requests;
the "no extension" rows end each stage at its 4x maximum, as before that setting); one
look every 2 minutes (prod's `release_loop.resync_seconds`) or 5 (staging's); each look is `gates.decision.decide`
on the stage's per-minute counts so far, then `planning.release.step`.
Flagger-style (docs.flagger.app, "Canary analysis"): every `interval` (1 minute) the last minute's canary
success rate must be at least 99% and its share slower than 0.5 s at most 1% (p99 under 500 ms); a
failed check adds one to a counter that is never reset, and at `threshold` (5) the canary goes to weight
0; a minute with no canary requests halts advancement without counting; otherwise the weight steps
through `stepWeights` 5, 25, 50 and the next passing check promotes.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gates.decision import Timing, Track, decide
from planning.release import StagePlan, needs_look, start, step
from planning.rollout import release_stages
from settings.canary import CanaryPolicy
from settings.gates import SloGateCriteria

DAY = 1440
RELEASE_AT = 9 * 60
ERROR_RATE, SLOW_SHARE, VERY_SLOW_SHARE = 0.003, 0.006, 0.001
STAGES = release_stages(CanaryPolicy())
NO_EXTENSION = tuple(replace(s, cap_seconds=0.0) for s in STAGES)
"""The stages as they were before `canary.extended_max_duration`: each ends at its maximum."""
CRITERIA = SloGateCriteria()
FLAGGER_STEPS = (5, 25, 50)
FLAGGER_THRESHOLD = 5
FLAGGER_MIN_SUCCESS = 0.99
FLAGGER_MAX_SLOW = 0.01


PEAK = {"busy": 30_000, "quiet": 3_000}
"""Requests per minute at 15:00; the trough at 03:00 is a tenth of it."""


def requests_per_minute(minute: np.ndarray, peak: float) -> np.ndarray:
    return peak * (0.55 - 0.45 * np.cos(2 * np.pi * (minute - 180) / DAY))


@dataclass
class Outcome:
    to_zero: int | None = None
    """Minutes from the regression's start to the first minute the canary serves nothing."""
    to_full: int | None = None
    """Minutes from the release's start to the first minute at 100%."""
    served: int = 0
    failed: int = 0
    weights: list[int] = field(default_factory=list)
    held: bool = False
    rolled_back: bool = False


def minute_counts(
    rng: np.random.Generator, minute: int, weight: int, factor: float, peak: float
) -> tuple[np.ndarray, np.ndarray]:
    """(canary, stable) counts of one minute: requests, errors, slow, very slow."""
    total = rng.poisson(requests_per_minute(np.array(minute), peak))
    canary_n = rng.binomial(total, weight / 100)
    out = []
    for n, f in ((canary_n, factor), (total - canary_n, 1.0)):
        slow = rng.binomial(n, SLOW_SHARE)
        errors = rng.binomial(n, min(1.0, ERROR_RATE * f))
        out.append(np.array([n, errors, slow, rng.binomial(slow, VERY_SLOW_SHARE / SLOW_SHARE)]))
    return out[0], out[1]


def iso(minute: int) -> str:
    return f"2026-01-05T{minute // 60:02d}:{minute % 60:02d}:00Z"


def ours(
    seed: int,
    factor: Callable[[int], float],
    regression_at: int | None,
    every: int,
    peak: float,
    stages: tuple[StagePlan, ...] = STAGES,
) -> Outcome:
    rng = np.random.default_rng(seed)
    state = start("1.1.0", stages, iso(RELEASE_AT))
    weight, out = state.weight, Outcome()
    canary_units: list[np.ndarray] = []
    stable_units: list[np.ndarray] = []
    for minute in range(RELEASE_AT, DAY):
        c, s = minute_counts(rng, minute, weight, factor(minute), peak)
        out.weights.append(weight)
        _served(out, minute, weight, c, regression_at)
        canary_units.append(c)
        stable_units.append(s)
        end = minute + 1
        if (end - RELEASE_AT) % every or not needs_look(state, stages):
            continue
        began = int(state.stage_started_at[11:13]) * 60 + int(state.stage_started_at[14:16])
        window = slice(began - RELEASE_AT, end - RELEASE_AT)
        canary, stable = (np.array(u[window]) for u in (canary_units, stable_units))
        current = stages[state.stage]
        timing = Timing((end - began) * 60, current.min_seconds, current.longest_seconds)
        decision = decide(_track(canary), _track(stable), CRITERIA, timing)
        state = step(
            state, stages, decision.verdict, "", None, iso(end), "hold", decision.reason, None, decision.more_minutes
        )
        weight = 0 if state.phase in {"failed", "aborted"} else state.weight
        # Timed out: held at its weight with an alert and still watched, until an operator acts (not modelled).
        out.held = state.phase == "timed_out"
        if weight == 0 or state.phase == "promoted":
            _finish(out, rng, end, weight, factor, regression_at, peak)
            break
    return out


def flagger(seed: int, factor: Callable[[int], float], regression_at: int | None, peak: float) -> Outcome:
    rng = np.random.default_rng(seed)
    weight, step_index, failed_checks, out = FLAGGER_STEPS[0], 0, 0, Outcome()
    for minute in range(RELEASE_AT, DAY):
        c, _ = minute_counts(rng, minute, weight, factor(minute), peak)
        out.weights.append(weight)
        _served(out, minute, weight, c, regression_at)
        n, errors, slow, _ = (int(x) for x in c)
        if n == 0:
            continue  # no values: advancement halts, nothing counted
        if (n - errors) / n < FLAGGER_MIN_SUCCESS or slow / n > FLAGGER_MAX_SLOW:
            failed_checks += 1
            if failed_checks >= FLAGGER_THRESHOLD:
                weight = 0
        elif step_index + 1 < len(FLAGGER_STEPS):
            step_index += 1
            weight = FLAGGER_STEPS[step_index]
        else:
            weight = 100
        if weight in (0, 100):
            _finish(out, rng, minute + 1, weight, factor, regression_at, peak)
            break
    return out


def _track(units: np.ndarray) -> Track:
    return Track.from_units(*(units[:, i].tolist() for i in range(4)))


def _served(out: Outcome, minute: int, weight: int, canary: np.ndarray, regression_at: int | None) -> None:
    if regression_at is not None and minute >= regression_at and out.to_zero is None:
        out.served += int(canary[0])
        out.failed += int(canary[1])


def _finish(
    out: Outcome,
    rng: np.random.Generator,
    end: int,
    weight: int,
    factor: Callable[[int], float],
    at: int | None,
    peak: float,
) -> None:
    """The loop has settled: at 0 the regression's exposure ends; at 100 the canary serves everything from now."""
    if weight == 0:
        if at is not None and end >= at:
            out.to_zero = end - at
        out.rolled_back = True
        return
    out.to_full = end - RELEASE_AT
    if at is None:
        return
    # Promoted with the regression in it: every request until the end of the day is served by it.
    for minute in range(end, DAY):
        c, _ = minute_counts(rng, minute, 100, factor(minute), peak)
        if minute >= at:
            out.served += int(c[0])
            out.failed += int(c[1])


@dataclass(frozen=True)
class Scenario:
    name: str
    factor_of: float
    starts_after: int | None
    """Minutes after the release's start when the canary's failures multiply; None: healthy."""

    def factor(self, minute: int) -> float:
        if self.starts_after is None or minute < RELEASE_AT + self.starts_after:
            return 1.0
        return self.factor_of

    @property
    def at(self) -> int | None:
        return None if self.starts_after is None else RELEASE_AT + self.starts_after


SCENARIOS = (
    Scenario("healthy", 1.0, None),
    Scenario("5x from the start", 5.0, 0),
    Scenario("5x from minute 15", 5.0, 15),
    Scenario("5x from minute 40", 5.0, 40),
    Scenario("1.5x from the start", 1.5, 0),
)
LOOPS = {
    "ours, every 2 min": lambda seed, sc, peak: ours(seed, sc.factor, sc.at, 2, peak),
    "ours, every 5 min": lambda seed, sc, peak: ours(seed, sc.factor, sc.at, 5, peak),
    "ours, every 2 min, no extension": lambda seed, sc, peak: ours(seed, sc.factor, sc.at, 2, peak, NO_EXTENSION),
    "Flagger-style, 1 min x 5": lambda seed, sc, peak: flagger(seed, sc.factor, sc.at, peak),
}


def median(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f}" if values else "-"


def p90(values: list[float]) -> str:
    return f"{np.percentile(values, 90):,.0f}" if values else "-"


def run(days: int, traffic: str) -> str:
    peak = PEAK[traffic]
    lines = [
        "| scenario | loop | timed out (held) | rolled back | promoted | minutes to weight 0, median / p90 "
        "| canary requests served from the regression's start, median | of them failed, median "
        "| minutes to 100%, median / p90 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for sc in SCENARIOS:
        for name, loop in LOOPS.items():
            results = [loop(seed, sc, peak) for seed in range(days)]
            zero = [float(r.to_zero) for r in results if r.to_zero is not None]
            full = [float(r.to_full) for r in results if r.to_full is not None]
            rolled = sum(1 for r in results if r.rolled_back)
            held = sum(1 for r in results if r.held)
            lines.append(
                f"| {sc.name} | {name} | {held / days:.0%} | {rolled / days:.0%} | {len(full) / days:.0%} | "
                f"{median(zero)} / {p90(zero)} | "
                f"{median([r.served for r in results]) if sc.at is not None else '-'} | "
                f"{median([r.failed for r in results]) if sc.at is not None else '-'} | "
                f"{median(full)} / {p90(full)} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.release_loop")
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--traffic", choices=sorted(PEAK), action="append")
    args = parser.parse_args(argv)
    for traffic in args.traffic or ["busy", "quiet"]:
        print(f"\n{traffic}: peak {PEAK[traffic]:,} requests per minute, {args.days} days per row\n")
        print(run(args.days, traffic))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
