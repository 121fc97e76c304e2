"""The three promotion methods compared on the same counts, and the fixed-sample floor.

(a) ours: `gates.decision.decide`, the SLO gate's own decision (the Prometheus path runs
    `gates.slo_gate.evaluate`, which calls it on the counts it queried).
(b) static thresholds as most canary tools ship them: canary error rate < 1% and p99 < 500 ms (fewer
    than 1% of requests slower than 0.5 s), on the canary alone, no comparison, no sample-size rule.
(c) a fixed-sample comparison: one-sided two-proportion z-tests of canary against stable (errors and
    the share slower than 0.5 s, alpha split over the two), re-run at every look; it fails on a
    significant result and passes once the canary has the sample size its power calculation asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from gates.decision import Timing, Track, decide
from settings.gates import SloGateCriteria

STATIC_ERROR_LIMIT = 0.01
STATIC_SLOW_LIMIT = 0.01  # p99 < 500 ms: fewer than 1% of requests slower than 0.5 s
Z = NormalDist()


@dataclass(frozen=True)
class Floor:
    """Canary requests a fixed-sample test needs for one check at the configured error rates."""

    check: str
    requests: int


def _z(p: float) -> float:
    return Z.inv_cdf(1 - p)


def comparison_floor(base: float, tolerance: float, regression: float, alpha: float, beta: float, k: float) -> int:
    """One-sided two-proportion test of canary vs stable (stable has k times the canary's requests).

    Size alpha at canary = tolerance x stable (a tolerable canary fails with probability alpha), power
    1 - beta at regression x stable (a regression passes with probability beta): the same two
    guarantees the gate's comparison check gives.
    """
    p0, p1 = base * tolerance, base * regression
    stable_var = base * (1 - base) / k
    s0, s1 = math.sqrt(p0 * (1 - p0) + stable_var), math.sqrt(p1 * (1 - p1) + stable_var)
    return math.ceil(((_z(alpha) * s0 + _z(beta) * s1) / (p1 - p0)) ** 2)


def limit_floor(rate: float, limit: float, alpha: float, beta: float) -> int:
    """One-sample test of a rate against an absolute limit, powered at the healthy rate."""
    s0, s1 = math.sqrt(limit * (1 - limit)), math.sqrt(rate * (1 - rate))
    return math.ceil(((_z(alpha) * s0 + _z(beta) * s1) / (limit - rate)) ** 2)


def floors(
    criteria: SloGateCriteria, error_rate: float, slow: float, very_slow: float, weight: float, alpha: float
) -> list[Floor]:
    """The floor of each of the gate's checks for a healthy canary; passing needs the largest."""
    beta = criteria.false_pass_rate
    k = (1 - weight) / weight
    return [
        Floor(
            "error_ratio",
            comparison_floor(error_rate, criteria.error_ratio_vs_stable, criteria.regression_factor, alpha, beta, k),
        ),
        Floor("error_slo", limit_floor(error_rate, criteria.error_ratio_max, alpha, beta)),
        Floor(
            "latency_p95",
            comparison_floor(slow, criteria.slow_ratio_vs_stable, criteria.regression_factor, alpha, beta, k),
        ),
        Floor("latency_p95_slo", limit_floor(slow, criteria.slow_ratio_max, alpha, beta)),
        Floor("latency_p99_slo", limit_floor(very_slow, criteria.very_slow_ratio_max, alpha, beta)),
    ]


def track(units: np.ndarray) -> Track:
    """One track from its counts per unit of time, shape (units, 4): totals and the per-unit split."""
    return Track.from_units(*(units[:, i].tolist() for i in range(4)))


def ours(canary: np.ndarray | None, stable: np.ndarray | None, criteria: SloGateCriteria, timing: Timing) -> str:
    """The gate's verdict on one rollout's per-unit counts, shape (units, 4); a track without series is
    `error`, as the gate reports it."""
    if canary is None or stable is None:
        return "error"
    return decide(track(canary), track(stable), criteria, timing, bounds=False).verdict


def static(canary: np.ndarray | None, elapsed: float, min_seconds: float) -> np.ndarray:
    """Verdicts of many rollouts at once (canary counts shape (rollouts, 4)); no data is inconclusive."""
    if canary is None:
        return np.array(["inconclusive"])
    requests, errors, slow = canary[:, 0], canary[:, 1], canary[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        bad = (errors / requests >= STATIC_ERROR_LIMIT) | (slow / requests >= STATIC_SLOW_LIMIT)
    waiting = "inconclusive" if elapsed < min_seconds else "pass"
    return np.where(requests == 0, "inconclusive", np.where(bad, "fail", waiting))


def _z_worse(c_events: np.ndarray, c_total: np.ndarray, s_events: np.ndarray, s_total: np.ndarray) -> np.ndarray:
    """Pooled two-proportion z statistic, positive when the canary is worse."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pc, ps = c_events / c_total, s_events / s_total
        pooled = (c_events + s_events) / (c_total + s_total)
        se = np.sqrt(pooled * (1 - pooled) * (1 / c_total + 1 / s_total))
        z = (pc - ps) / se
    return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)


def fixed_sample(
    canary: np.ndarray | None,
    stable: np.ndarray | None,
    elapsed: float,
    min_seconds: float,
    alpha: float,
    sample_size: int,
) -> np.ndarray:
    if canary is None or stable is None:
        return np.array(["inconclusive"])
    cut = _z(alpha / 2)
    worse = (_z_worse(canary[:, 1], canary[:, 0], stable[:, 1], stable[:, 0]) > cut) | (
        _z_worse(canary[:, 2], canary[:, 0], stable[:, 2], stable[:, 0]) > cut
    )
    enough = (canary[:, 0] >= sample_size) & (elapsed >= min_seconds)
    return np.where(worse, "fail", np.where(enough, "pass", "inconclusive"))
