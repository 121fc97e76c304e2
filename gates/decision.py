"""The SLO gate's decision: counts and criteria in, a verdict with its reasons out. No I/O.

Every criterion is a proportion (failed requests among requests, requests slower than a bucket
boundary among requests), judged by a sequential test that stays valid however often it is looked at:

* A comparison with stable uses the conditional binomial. With Poisson traffic, given the events
  (errors, slow requests) of both tracks together, the canary's share of them is binomial with
  p(r) = n_c·r / (n_c·r + n_s), where r is the ratio of the canary's rate to stable's. The likelihood
  ratio of r1 (a regression, 1.5x) against r0 (the tolerance, 1.1x) is a test martingale under r0 and its
  inverse one under r1, so by Ville's inequality "pass once LR <= beta" passes a regression with
  probability <= beta at any number of looks. The fail side uses a mixture of such ratios (r1, 2·r1,
  4·r1), again a test martingale under r0: "fail once it reaches 1/alpha" fails a healthy canary with
  probability <= alpha. Canaries better than r0 or worse than r1 only make this more certain.
* An absolute limit uses a beta-mixture martingale on the canary's own binomial: M(L) >= 1/beta with
  the rate estimate under L passes (an anytime-valid upper bound below L), M(L) >= 1/alpha above fails.

Both tests assume independent requests. Failures that come in bursts (one incident failing a hundred
requests in a minute) carry far less information than their count, in either direction: a burst in the
canary looks like a regression, a burst in stable hides one. So each proportion also comes per unit of
time (a minute, in the gate), and its counts are divided by their over-dispersion before they are weighed:
the Pearson statistic of the per-unit counts against a constant rate (for a comparison, also of the
canary's share of each unit's events against a constant ratio). While that statistic is unremarkable for
independent requests the counts stand as they are; once it is not, the dispersion is taken at its upper
confidence bound, the evidence shrinks, and the gate holds (`inconclusive`) instead of trusting a burst.
A comparison takes the burstier track's dispersion for both (a track with few events cannot show its
own), and needs MIN_EVENTS of the canary's own to pass and of stable's own to fail. A stable whose rate
changes mid-stage shows as dispersion too, so the comparison holds. This is the quasi-likelihood
correction with a design effect estimated from the data: it is measured, not proved, to keep the error
rates (`benchmarks/gate_quality.py`, `benchmarks/gate_grid.py`, `tests/gates/test_decision_statistics.py`).

The false-fail budget alpha is split evenly over the checks (a healthy canary must survive all of them);
a regression shows in at least one check, so each check keeps the whole false-pass budget beta.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Literal, TypeVar

import numpy as np

from settings.gates import SloGateCriteria

Verdict = Literal["pass", "fail", "inconclusive", "error"]
# A verdict that holds at one check decides the gate in this order; `error` outranks `inconclusive`
# so an outage is reported as one, and `fail` outranks `error` because its evidence stands on its own.
SEVERITY: dict[str, int] = {"pass": 0, "inconclusive": 1, "error": 2, "fail": 3}
TIMES = "\u00d7"
NEVER = 10**9  # requests: "the data at this rate cannot decide"
# The fail side mixes regressions of 1x, 2x and 4x the configured factor: a 5x regression then fails after
# about half the events a test aimed at 1.5x alone needs, for a slightly higher bar at exactly 1.5x.
FAIL_ALTERNATIVES: tuple[tuple[float, float], ...] = ((1.0, 0.5), (2.0, 0.25), (4.0, 0.25))
# Over-dispersion is assumed once per-unit counts vary more than independent requests do 99% of the time,
# and then taken at its upper 95% confidence bound.
DISPERSION_TEST = 0.01
DISPERSION_CONFIDENCE = 0.05
# Stable's dispersion stands for the canary's too (see `comparison_dispersion`) once it is beyond chance at
# this stricter level: the clusters that matter are far beyond it, and chance detections in the larger
# track would otherwise slow healthy canaries on independent traffic.
BORROWED_DISPERSION_TEST = 0.001
# With per-unit counts, fewer units than this cannot tell one burst from a regression: no verdict yet.
MIN_UNITS = 3
# A track with fewer events than this has not shown its burstiness, and "rarely failing" cannot be told
# from "failing in rare clusters" (a track whose errors come in clusters of 50 shows none in most stages).
# So a check passes only once the canary has this many events of its own, and a comparison fails only once
# stable has (a stable that happened to see no cluster makes a healthy canary look worse). The other
# directions need no floor: a cluster that happened shows itself in the per-unit counts.
MIN_EVENTS = 10
NORMAL = NormalDist()


Unit = tuple[int, int]  # (events, requests) in one unit of time
Amounts = TypeVar("Amounts", int, float)


def per_unit(amounts: Sequence[Amounts], requests: Sequence[int]) -> tuple[tuple[Amounts, int], ...]:
    """(amount, requests) per unit of time, oldest first: the evidence's split for the over-dispersion estimate."""
    return tuple(zip(amounts, requests, strict=True))


def per_request(amount: float, requests: float) -> float:
    """Events or an amount per request; NaN before the first request."""
    return amount / requests if requests else math.nan


def verdict_reasons(
    head: str, p_healthy: float, p_regression: float, tolerance: float, regression: float, versus: str
) -> dict[str, str]:
    """What a comparison's report says for a fail, a pass and a verdict still open, after its `head`."""
    return {
        "fail": f"{head}, {_p(p_healthy)}, limit {versus}{TIMES}{tolerance:g})",
        "pass": f"{head}, {_p(p_regression)} for ≥{regression:g}{TIMES})",
        "inconclusive": (
            f"{head}, {_p(p_healthy)} vs {TIMES}{tolerance:g}, {_p(p_regression)} vs {TIMES}{regression:g})"
        ),
    }


def p_values(log_lr: float, log_fail: float) -> tuple[float, float]:
    """(p healthy, p regression): the anytime-valid p-values of a comparison's two sequential tests."""
    return math.exp(min(0.0, -log_fail)), math.exp(min(0.0, log_lr))


@dataclass(frozen=True)
class Proportion:
    """`events` of `total` requests over the evidence window, with the PromQL that produced each count.

    `units` splits the same evidence per unit of time, oldest first, for the over-dispersion estimate;
    without units the requests are taken as independent.
    """

    events: int
    total: int
    events_query: str = ""
    total_query: str = ""
    units: tuple[Unit, ...] = ()

    @classmethod
    def from_units(cls, events: Sequence[int], requests: Sequence[int]) -> Proportion:
        """Totals and the per-unit split from counts per unit of time, oldest first."""
        return cls(sum(events), sum(requests), units=per_unit(events, requests))

    def __post_init__(self) -> None:
        if self.events < 0 or self.total < 0 or self.events > self.total:
            raise ValueError(f"impossible counts: {self.events} events among {self.total} requests")

    @property
    def rate(self) -> float:
        return per_request(self.events, self.total)


@dataclass(frozen=True)
class Track:
    """One version's evidence: failed requests, and requests slower than the two latency thresholds."""

    errors: Proportion
    slow: Proportion
    very_slow: Proportion

    @classmethod
    def from_units(
        cls, requests: Sequence[int], errors: Sequence[int], slow: Sequence[int], very_slow: Sequence[int]
    ) -> Track:
        """A track from its counts per unit of time, oldest first: requests, then each kind of event."""
        return cls(*(Proportion.from_units(events, requests) for events in (errors, slow, very_slow)))


@dataclass(frozen=True)
class Timing:
    elapsed_seconds: float
    min_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    reason: str
    threshold: str
    canary: Proportion | None = None
    stable: Proportion | None = None
    statistic: float | None = None
    p_healthy: float | None = None
    p_regression: float | None = None
    bounds: tuple[float, float] | None = None
    more_requests: int | None = None
    note: str = ""
    dispersion: float = 1.0

    @property
    def queries(self) -> list[str]:
        tracks = [t for t in (self.canary, self.stable) if t is not None]
        return [q for t in tracks for q in (t.events_query, t.total_query) if q]

    def line(self) -> str:
        return f"{self.verdict.upper() if self.verdict != 'pass' else 'pass'} {self.name}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "reason": self.reason,
            "threshold": self.threshold,
            "canary": _counts(self.canary),
            "stable": _counts(self.stable),
            "statistic": _rounded(self.statistic),
            "p_healthy": _rounded(self.p_healthy),
            "p_regression": _rounded(self.p_regression),
            "bounds": [_rounded(b) for b in self.bounds] if self.bounds else None,
            "more_requests": self.more_requests,
            "dispersion": _rounded(self.dispersion),
            "queries": self.queries,
            "note": self.note,
        }


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    checks: tuple[Check, ...] = field(default_factory=tuple)
    more_requests: int | None = None
    more_minutes: float | None = None

    def summary(self, title: str) -> str:
        return f"{title}: {self.verdict.upper()}: {self.reason}"

    def report(self, title: str) -> str:
        lines = [self.summary(title)]
        if self.more_requests is not None:
            minutes = f" (about {self.more_minutes:.0f} minutes at the current rate)" if self.more_minutes else ""
            lines.append(f"  needs about {self.more_requests:,} more canary requests{minutes}; run `up` again then")
        for check in self.checks:
            lines.append(f"  {check.line()}")
            for query in check.queries:
                lines.append(f"      {query}")
            if check.note:
                lines.append(f"      note: {check.note}")
        return "\n".join(lines)


def _counts(p: Proportion | None) -> dict[str, int] | None:
    return {"events": p.events, "total": p.total} if p else None


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(f"{value:.6g}")


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2%}"


def _p(value: float) -> str:
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def error(name: str, reason: str, threshold: str = "") -> Check:
    return Check(name=name, verdict="error", reason=reason, threshold=threshold)


def _too_few_units(name: str, canary: Proportion, threshold: str, stable: Proportion | None = None) -> Check | None:
    busy = sum(1 for _, requests in canary.units if requests)
    if not canary.units or busy >= MIN_UNITS:
        return None
    reason = (
        f"canary requests in only {busy} units of time; a burst cannot be told from a regression before {MIN_UNITS}"
    )
    return Check(name, "inconclusive", reason, threshold, canary, stable)


def _dispersion_shown(dispersion: float) -> str:
    return f", bursty: evidence /{dispersion:.1f}" if dispersion > 1.05 else ""


# --- the statistics on arrays: one row per rollout (the gate's own evaluation is one row) ------------


PASS, INCONCLUSIVE, FAIL = 0, 1, 3  # verdict codes, ordered like SEVERITY
CODES = {PASS: "pass", INCONCLUSIVE: "inconclusive", FAIL: "fail"}


@dataclass(frozen=True)
class Counts:
    """One proportion of many rollouts: totals, shape (R,), and the same per unit of time, shape (R, K).

    K may be 0 (no per-unit counts: the requests are taken as independent). The totals come from their
    own queries, so they need not be the units' sums.
    """

    events: np.ndarray
    total: np.ndarray
    unit_events: np.ndarray
    unit_total: np.ndarray

    @classmethod
    def of(cls, proportion: Proportion) -> Counts:
        units = np.array(proportion.units, dtype=float).reshape(1, -1, 2)
        return cls(
            np.array([proportion.events], float), np.array([proportion.total], float), units[..., 0], units[..., 1]
        )

    @classmethod
    def from_units(cls, events: np.ndarray, requests: np.ndarray) -> Counts:
        """Counts per unit of time, shape (R, K), oldest first; the totals are their sums."""
        events, requests = np.asarray(events, float), np.asarray(requests, float)
        return cls(events.sum(axis=-1), requests.sum(axis=-1), events, requests)

    @property
    def busy_units(self) -> np.ndarray:
        return (self.unit_total > 0).sum(axis=-1)

    def too_few_units(self) -> np.ndarray:
        """With per-unit counts, fewer than MIN_UNITS busy units cannot tell one burst from a regression."""
        return (self.unit_total.shape[-1] > 0) & (self.busy_units < MIN_UNITS)


def _chi2_quantile(df: np.ndarray | int, q: float) -> np.ndarray:
    """Wilson-Hilferty approximation: within a few percent from one degree of freedom up."""
    df = np.asarray(df, float)
    z = NORMAL.inv_cdf(q)
    return df * np.maximum(1e-9, 1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def _pearson(
    observed: np.ndarray, expected: np.ndarray, variance: np.ndarray, test: float = DISPERSION_TEST
) -> np.ndarray:
    """The over-dispersion of per-unit counts: 1 unless the data show it, then its upper confidence bound.

    Each unit contributes (observed - expected)^2 / variance where its variance is positive. The Pearson
    statistic has a chi-square law with one degree of freedom per unit but one (a rate was estimated).
    Below its DISPERSION_TEST quantile the units look independent and count as they are; above it, the
    dispersion is taken at the bound that its chi-square law allows with DISPERSION_CONFIDENCE: a few
    bursts make a rough estimate, and an estimate too low would let them decide.
    """
    valid = variance > 0
    terms = np.where(valid, (observed - expected) ** 2 / np.where(valid, variance, 1.0), 0.0)
    total = terms.sum(axis=-1)
    df = valid.sum(axis=-1) - 1
    dfs = np.maximum(df, 1)
    unremarkable = (df < 1) | (total <= _chi2_quantile(dfs, 1 - test))
    return np.where(unremarkable, 1.0, np.maximum(1.0, total / _chi2_quantile(dfs, DISPERSION_CONFIDENCE)))


def track_dispersion(counts: Counts, test: float = DISPERSION_TEST) -> np.ndarray:
    """How much more one track's per-unit event counts vary than a constant rate allows, shape (R,)."""
    rate = ((counts.events + 0.5) / (counts.total + 1))[:, None]
    n = counts.unit_total
    return _pearson(counts.unit_events, n * rate, n * rate * (1 - rate), test)


def _share_terms(canary: Counts, stable: Counts) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(observed, expected, variance) of the canary's share of each unit's events, at the totals' ratio."""
    if canary.unit_total.shape != stable.unit_total.shape or canary.unit_total.shape[-1] == 0:
        return None  # unpaired units: only the tracks' own dispersion can be judged
    canary_rate = (canary.events + 0.5) / np.maximum(canary.total, 1)
    ratio = canary_rate / ((stable.events + 0.5) / np.maximum(stable.total, 1))
    cn, sn = canary.unit_total, stable.unit_total
    events = canary.unit_events + stable.unit_events
    valid = (events > 0) & (cn > 0) & (sn > 0)
    weighted = cn * ratio[:, None]
    p = np.where(valid, weighted / np.where(valid, weighted + sn, 1.0), 0.0)
    return canary.unit_events, events * p, np.where(valid, events * p * (1 - p), 0.0)


def comparison_dispersion(canary: Counts, stable: Counts) -> np.ndarray:
    """The over-dispersion of the canary-vs-stable evidence: the largest of three views of it.

    The canary's share of each unit's events catches bursts in either track against the other, and
    ignores bursts both tracks share. Each track's own dispersion counts too, and the larger of the two
    stands for both: the variance of the rate ratio is φ_c/c + φ_s/s, and a track with few events of its
    own (a canary with no errors) cannot show its burstiness, so it is taken to be at least as bursty as
    the other track. Weighing each track's dispersion by the other's events, as an estimate of that
    variance would, lets a canary with no errors count as independent while stable's clusters carry it.
    """
    own = np.maximum(track_dispersion(canary), track_dispersion(stable, BORROWED_DISPERSION_TEST))
    terms = _share_terms(canary, stable)
    return own if terms is None else np.maximum(_pearson(*terms), own)


def share(n_canary: np.ndarray | float, n_stable: np.ndarray | float, ratio: float) -> np.ndarray | float:
    """The canary's expected share of all events when its rate is `ratio` times stable's."""
    return n_canary * ratio / (n_canary * ratio + n_stable)


@dataclass(frozen=True)
class Comparison:
    """The comparison's statistics, shape (R,) each."""

    verdict: np.ndarray
    log_lr: np.ndarray
    log_fail: np.ndarray
    dispersion: np.ndarray
    p0: np.ndarray
    p1: np.ndarray


def comparison(
    canary: Counts,
    stable: Counts,
    tolerance: float,
    regression: float,
    false_pass: float,
    false_fail: float,
    dispersion: np.ndarray | None = None,
) -> Comparison:
    """Fail once the mixture over regressions reaches 1/false_fail and stable has MIN_EVENTS; pass once
    LR(r1/r0) <= false_pass and the canary has MIN_EVENTS. `dispersion`: `comparison_dispersion` unless given."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cn, sn = np.maximum(canary.total, 1), np.maximum(stable.total, 1)
        p0, p1 = np.asarray(share(cn, sn, tolerance)), np.asarray(share(cn, sn, regression))
        if dispersion is None:
            dispersion = comparison_dispersion(canary, stable)

        def log_lr_against(p: np.ndarray) -> np.ndarray:
            # Effective counts: bursty evidence weighs its count divided by the over-dispersion.
            return (canary.events * np.log(p / p0) + stable.events * (np.log1p(-p) - np.log1p(-p0))) / dispersion

        log_lr = log_lr_against(p1)
        log_fail = np.logaddexp.reduce(
            [
                math.log(weight) + log_lr_against(np.asarray(share(cn, sn, regression * factor)))
                for factor, weight in FAIL_ALTERNATIVES
            ]
        )
    undecidable = (canary.total == 0) | (stable.total == 0) | canary.too_few_units()
    verdict = np.where(
        undecidable,
        INCONCLUSIVE,
        np.where(
            (log_fail >= -math.log(false_fail)) & (stable.events >= MIN_EVENTS),
            FAIL,
            np.where(
                (log_lr <= math.log(false_pass)) & (canary.events >= MIN_EVENTS),
                PASS,
                INCONCLUSIVE,
            ),
        ),
    )
    return Comparison(verdict, log_lr, log_fail, dispersion, p0, p1)


Number = np.ndarray | float
_lgamma_array = np.vectorize(math.lgamma, otypes=[float])


def _lgamma(x: Number) -> Number:
    return _lgamma_array(x) if isinstance(x, np.ndarray) else math.lgamma(x)


def _log_beta(a: Number, b: Number) -> Number:
    return _lgamma(a) + _lgamma(b) - _lgamma(a + b)


def _prior(limit: float) -> tuple[float, float]:
    """Beta prior with mean `limit` and spread of the order of `limit`: mass where the question is."""
    return 1.0, (1 - limit) / limit


def log_mixture(events: Number, total: Number, rate: float, prior: tuple[float, float]) -> Number:
    """log of the beta-mixture likelihood ratio against the point `rate` (a test martingale at `rate`)."""
    a, b = prior
    return (
        _log_beta(a + events, b + total - events)
        - _log_beta(a, b)
        - events * math.log(rate)
        - (total - events) * math.log1p(-rate)
    )


@dataclass(frozen=True)
class Limit:
    """The absolute check's statistics, shape (R,) each."""

    verdict: np.ndarray
    log_m: np.ndarray
    dispersion: np.ndarray


def limit_check(canary: Counts, limit: float, false_pass: float, false_fail: float) -> Limit:
    """Pass when the anytime-valid upper bound is below `limit`, fail when the lower one is above it."""
    dispersion = track_dispersion(canary)
    total = np.maximum(canary.total, 1)
    # Effective counts: bursty evidence weighs its count divided by the over-dispersion.
    log_m = np.asarray(log_mixture(canary.events / dispersion, total / dispersion, limit, _prior(limit)))
    estimate = canary.events / total
    undecidable = (canary.total == 0) | canary.too_few_units()
    verdict = np.where(
        undecidable,
        INCONCLUSIVE,
        np.where(
            (estimate > limit) & (log_m >= -math.log(false_fail)),
            FAIL,
            np.where(
                (estimate < limit) & (log_m >= -math.log(false_pass)),
                PASS,
                INCONCLUSIVE,
            ),
        ),
    )
    return Limit(verdict, log_m, dispersion)


# --- comparison with stable: one gate's check ------------------------------------------------------


def _log_lr_step(p: float, p0: float, p1: float) -> float:
    """Expected log-likelihood-ratio increment per event when the canary's true share is p."""
    return p * math.log(p1 / p0) + (1 - p) * (math.log1p(-p1) - math.log1p(-p0))


def compare(
    name: str,
    canary: Proportion,
    stable: Proportion,
    tolerance: float,
    regression: float,
    false_pass: float,
    false_fail: float,
    versus: str = "stable",
) -> Check:
    threshold = f"{versus}{TIMES}{tolerance:g} (regression {versus}{TIMES}{regression:g})"
    head = f"canary {_pct(canary.rate)} vs {versus} {_pct(stable.rate)} (n={canary.total}/{stable.total}"
    if canary.total == 0 or stable.total == 0:
        idle = "canary" if canary.total == 0 else versus
        return Check(name, "inconclusive", f"no {idle} requests yet", threshold, canary, stable)
    if early := _too_few_units(name, canary, threshold, stable):
        return early
    result = comparison(Counts.of(canary), Counts.of(stable), tolerance, regression, false_pass, false_fail)
    verdict: Verdict = CODES[int(result.verdict[0])]  # type: ignore[assignment]
    log_lr, log_fail = float(result.log_lr[0]), float(result.log_fail[0])
    dispersion = float(result.dispersion[0])
    p0, p1 = float(result.p0[0]), float(result.p1[0])
    head += _dispersion_shown(dispersion)
    p_healthy, p_regression = p_values(log_lr, log_fail)
    reasons = verdict_reasons(head, p_healthy, p_regression, tolerance, regression, versus)
    more = None
    if verdict in ("fail", "pass"):
        reason = reasons[verdict]
    elif log_fail >= -math.log(false_fail):  # held by stable's event floor
        reason = (
            f"{head}, {_p(p_healthy)} vs {TIMES}{tolerance:g}, but {versus} has only {stable.events} events: a "
            f"failure needs {MIN_EVENTS} of {versus}'s own, so that its burstiness is measured)"
        )
        more = _more_events(stable.events, stable.total, canary.total, stable.total)
    elif log_lr <= math.log(false_pass) and canary.events < MIN_EVENTS:
        reason = (
            f"{head}, {_p(p_regression)} for ≥{regression:g}{TIMES}, but the canary has only {canary.events} events: "
            f"a pass needs {MIN_EVENTS} of its own, so that its burstiness is measured)"
        )
        more = _more_events(canary.events, canary.total, canary.total, stable.total, stable.events)
    else:
        reason = reasons["inconclusive"]
    if verdict == "inconclusive" and more is None:
        more = _more_for_comparison(canary, stable, tolerance, regression, log_lr, false_pass, false_fail, p0, p1)
        more = min(NEVER, math.ceil(more * dispersion))
    return Check(
        name, verdict, reason, threshold, canary, stable, log_lr, p_healthy, p_regression, None, more, "", dispersion
    )


def _more_events(events: int, total: int, canary_total: int, stable_total: int, other_events: int | None = None) -> int:
    """Canary requests until a track has MIN_EVENTS at its rate so far (at most one event in all seen, if none;
    for a canary without events, stable's rate stands in)."""
    if events:
        rate = events / total
    elif other_events:
        rate = other_events / stable_total
    else:
        rate = 1 / (canary_total + stable_total)
    track_requests = (MIN_EVENTS - events) / rate
    # Requests of the track in hand, converted to canary requests at the stage's traffic split.
    per_canary = total / canary_total if canary_total else 1.0
    return min(NEVER, max(1, math.ceil(track_requests / per_canary)))


def _more_for_comparison(
    canary: Proportion,
    stable: Proportion,
    tolerance: float,
    regression: float,
    log_lr: float,
    false_pass: float,
    false_fail: float,
    p0: float,
    p1: float,
) -> int:
    """Expected canary requests until a boundary, assuming the hypothesis nearer the estimate is true."""
    events = canary.events + stable.events
    ratio_hat = (canary.rate / stable.rate) if stable.events and canary.events else (0.0 if events else 1.0)
    healthy = ratio_hat <= math.sqrt(tolerance * regression)
    drift = _log_lr_step(p0 if healthy else p1, p0, p1)
    distance = (log_lr - math.log(false_pass)) if healthy else (-math.log(false_fail / 2) - log_lr)
    events_needed = max(distance, 0.0) / abs(drift)
    # With no events yet in either track, the rate is at most about one event in all requests seen.
    per_canary_request = max(events, 1) / canary.total
    return min(NEVER, max(1, math.ceil(events_needed / per_canary_request)))


# --- absolute limit: one gate's check ----------------------------------------------------------


def confidence_bounds(events: float, total: float, level: float, prior: tuple[float, float]) -> tuple[float, float]:
    """Anytime-valid interval: every rate the mixture has not rejected at `level`."""
    cut = -math.log(level)
    estimate = min(max(events / total, 1e-12), 1 - 1e-12)

    def rejected(rate: float) -> bool:
        return bool(log_mixture(events, total, rate, prior) >= cut)

    def edge(inside: float, outside: float) -> float:
        for _ in range(60):
            middle = (inside + outside) / 2
            inside, outside = (inside, middle) if rejected(middle) else (middle, outside)
        return inside

    low = 0.0 if not rejected(1e-12) else edge(estimate, 1e-12)
    high = 1.0 if not rejected(1 - 1e-12) else edge(estimate, 1 - 1e-12)
    return low, high


def below_limit(
    name: str, canary: Proportion, limit: float, false_pass: float, false_fail: float, bounds: bool = True
) -> Check:
    threshold = f"< {_pct(limit)}"
    if canary.total == 0:
        return Check(name, "inconclusive", "no canary requests yet", threshold, canary)
    if early := _too_few_units(name, canary, threshold):
        return early
    prior = _prior(limit)
    result = limit_check(Counts.of(canary), limit, false_pass, false_fail)
    verdict: Verdict = CODES[int(result.verdict[0])]  # type: ignore[assignment]
    log_m, dispersion = float(result.log_m[0]), float(result.dispersion[0])
    events, total = canary.events / dispersion, canary.total / dispersion
    estimate = canary.rate
    p_value = math.exp(min(0.0, -log_m))
    interval = None
    if bounds:
        interval = (
            confidence_bounds(events, total, false_fail, prior)[0],
            confidence_bounds(events, total, false_pass, prior)[1],
        )
    shown = f" [{_pct(interval[0])}, {_pct(interval[1])}]" if interval else ""
    head = f"canary {_pct(estimate)}{shown} (n={canary.total}{_dispersion_shown(dispersion)}"
    more = None
    if verdict == "fail":
        reason = f"{head}, {_p(p_value)}, limit {threshold})"
    elif verdict == "pass":
        reason = f"{head}, {_p(p_value)} for ≥ {_pct(limit)})"
    else:
        reason = f"{head}, limit {threshold} not yet excluded or exceeded)"
        more = min(NEVER, math.ceil(_more_for_limit(events, total, limit, prior, false_pass, false_fail) * dispersion))
    p_healthy, p_regression = _split_p(estimate, limit, p_value)
    return Check(
        name, verdict, reason, threshold, canary, None, log_m, p_healthy, p_regression, interval, more, "", dispersion
    )


def _split_p(estimate: float, limit: float, p_value: float) -> tuple[float | None, float | None]:
    return (p_value, None) if estimate > limit else (None, p_value)


def _more_for_limit(
    events: float, total: float, limit: float, prior: tuple[float, float], false_pass: float, false_fail: float
) -> int:
    """Requests until the bound crosses the limit if the rate stays at its estimate (or at half the limit)."""
    rate = events / total if events else min(limit / 2, 1 / total)
    cut = -math.log(false_fail if rate > limit else false_pass)

    def decided(n: float) -> bool:
        return bool(log_mixture(rate * n, n, limit, prior) >= cut)

    high = float(max(total, 1))
    while not decided(high):
        high *= 2
        if high > NEVER:
            return NEVER
    low = high / 2
    while high - low > max(1.0, low * 0.01):
        middle = (low + high) / 2
        low, high = (low, middle) if decided(middle) else (middle, high)
    return max(1, math.ceil(high - total))


# --- the gate ---------------------------------------------------------------------------------


CheckKind = Literal["compare", "limit"]


def check_plan(criteria: SloGateCriteria) -> list[tuple[str, str, CheckKind, float]]:
    """The gate's checks: (name, the proportion it judges, comparison or absolute limit, tolerance or limit)."""
    return [
        ("error_ratio", "errors", "compare", criteria.error_ratio_vs_stable),
        ("error_slo", "errors", "limit", criteria.error_ratio_max),
        ("latency_p95", "slow", "compare", criteria.slow_ratio_vs_stable),
        ("latency_p95_slo", "slow", "limit", criteria.slow_ratio_max),
        ("latency_p99_slo", "very_slow", "limit", criteria.very_slow_ratio_max),
    ]


def decide(
    canary: Track,
    stable: Track,
    criteria: SloGateCriteria,
    timing: Timing,
    versus: str = "stable",
    bounds: bool = True,
) -> Decision:
    """All checks, combined: any fail fails, then error, then inconclusive; pass needs every check to pass."""
    plan = check_plan(criteria)
    alpha, beta = criteria.false_fail_rate / len(plan), criteria.false_pass_rate
    checks = [
        compare(
            name, getattr(canary, kind), getattr(stable, kind), value, criteria.regression_factor, beta, alpha, versus
        )
        if how == "compare"
        else below_limit(name, getattr(canary, kind), value, beta, alpha, bounds)
        for name, kind, how, value in plan
    ]
    return combine(checks, canary.errors.total, timing)


@dataclass(frozen=True)
class TrackCounts:
    """One track of many rollouts: each proportion as `Counts`."""

    errors: Counts
    slow: Counts
    very_slow: Counts

    @classmethod
    def from_units(
        cls, requests: np.ndarray, errors: np.ndarray, slow: np.ndarray, very_slow: np.ndarray
    ) -> TrackCounts:
        """Counts per unit of time, shape (R, K) each, oldest first."""
        return cls(*(Counts.from_units(events, requests) for events in (errors, slow, very_slow)))


def verdicts(canary: TrackCounts, stable: TrackCounts, criteria: SloGateCriteria, timing: Timing) -> np.ndarray:
    """The gate's verdict for many rollouts at once, shape (R,): what `decide` gives each, without reports.

    The same statistics as `decide` (which runs them on one row), for simulations of thousands of
    rollouts; `tests/gates/test_decision_statistics.py` checks the two agree.
    """
    plan = check_plan(criteria)
    alpha, beta = criteria.false_fail_rate / len(plan), criteria.false_pass_rate
    codes = np.full(canary.errors.total.shape, PASS)
    for _, kind, how, value in plan:
        c = getattr(canary, kind)
        if how == "compare":
            code = comparison(c, getattr(stable, kind), value, criteria.regression_factor, beta, alpha).verdict
        else:
            code = limit_check(c, value, beta, alpha).verdict
        codes = np.maximum(codes, code)
    if timing.elapsed_seconds < timing.min_seconds:
        codes = np.where(codes == PASS, INCONCLUSIVE, codes)
    return np.array([CODES[PASS], CODES[INCONCLUSIVE], "", CODES[FAIL]], dtype=object)[codes]


TIMED_OUT_WAYS_FORWARD = (
    "it holds at this weight. Ways forward (docs/releasing.md, a stage that times out): review this report and "
    "promote (automatic releases: the `promote` control; pull requests: `up` again once the requests below have "
    "come), give the stage longer (canary.max_duration_factor), or roll back (the `abort` control or "
    "rollout.rollback: true)"
)
"""What the report of a timed-out stage tells the operator: the gate holds rather than guesses."""


def combine(checks: Sequence[Check], canary_requests: int, timing: Timing) -> Decision:
    verdict: Verdict = max((c.verdict for c in checks), key=SEVERITY.__getitem__, default="error")
    deciding = [c for c in checks if c.verdict == verdict]
    if not checks:
        return Decision("error", "no checks to evaluate")
    if verdict == "fail":
        return Decision("fail", f"{', '.join(c.name for c in deciding)} show a regression", tuple(checks))
    if verdict == "error":
        return Decision("error", "the gate could not evaluate: " + "; ".join(c.reason for c in deciding), tuple(checks))
    minutes_left = max(0.0, (timing.min_seconds - timing.elapsed_seconds) / 60)
    if verdict == "pass":
        if minutes_left > 0:
            reason = f"every check passed, but the stage's minimum duration has {minutes_left:.0f} minutes left"
            return Decision("inconclusive", reason, tuple(checks), None, minutes_left)
        return Decision("pass", "every check passed", tuple(checks))
    needed = max((c.more_requests for c in deciding if c.more_requests is not None), default=None)
    per_minute = canary_requests / (timing.elapsed_seconds / 60) if timing.elapsed_seconds > 0 else 0.0
    more_minutes = max(minutes_left, needed / per_minute) if needed is not None and per_minute > 0 else None
    names = ", ".join(c.name for c in deciding)
    if timing.elapsed_seconds >= timing.max_seconds:
        reason = (
            f"stage timed out after {timing.elapsed_seconds / 60:.0f} minutes and {names} still cannot decide; "
            f"{TIMED_OUT_WAYS_FORWARD}"
        )
    else:
        reason = f"not enough evidence yet for {names}"
    return Decision("inconclusive", reason, tuple(checks), needed, more_minutes)


def with_note(decision: Decision, names: set[str], note: str) -> Decision:
    checks = tuple(replace(c, note=note) if c.name in names else c for c in decision.checks)
    return replace(decision, checks=checks)
