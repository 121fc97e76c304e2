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
This is the quasi-likelihood correction with a design effect estimated from the data: it is measured, not
proved, to keep the error rates (`benchmarks/gate_quality.py`, `tests/gates/test_decision_statistics.py`).

The false-fail budget alpha is split evenly over the checks (a healthy canary must survive all of them);
a regression shows in at least one check, so each check keeps the whole false-pass budget beta.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Literal

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
# With per-unit counts, fewer units than this cannot tell one burst from a regression: no verdict yet.
MIN_UNITS = 3
NORMAL = NormalDist()


Unit = tuple[int, int]  # (events, requests) in one unit of time


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
        return cls(sum(events), sum(requests), units=tuple(zip(events, requests, strict=True)))

    def __post_init__(self) -> None:
        if self.events < 0 or self.total < 0 or self.events > self.total:
            raise ValueError(f"impossible counts: {self.events} events among {self.total} requests")

    @property
    def rate(self) -> float:
        return self.events / self.total if self.total else math.nan


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


# --- over-dispersion --------------------------------------------------------------------------


def _chi2_quantile(df: int, q: float) -> float:
    """Wilson-Hilferty approximation: within a few percent from one degree of freedom up."""
    z = NORMAL.inv_cdf(q)
    return df * max(1e-9, 1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def _pearson(terms: Iterable[tuple[float, float, float]]) -> float:
    """The over-dispersion of per-unit counts: 1 unless the data show it, then its upper confidence bound.

    Each term is (observed, expected, variance) of one unit. The Pearson statistic has a chi-square law
    with one degree of freedom per unit but one (a rate was estimated). Below its DISPERSION_TEST quantile
    the units look independent and count as they are; above it, the dispersion is taken at the bound
    that its chi-square law allows with DISPERSION_CONFIDENCE: a few bursts make a rough estimate,
    and an estimate too low would let them decide.
    """
    total, units = 0.0, 0
    for observed, expected, variance in terms:
        if variance > 0:
            total += (observed - expected) ** 2 / variance
            units += 1
    df = units - 1
    if df < 1 or total <= _chi2_quantile(df, 1 - DISPERSION_TEST):
        return 1.0
    return max(1.0, total / _chi2_quantile(df, DISPERSION_CONFIDENCE))


def limit_dispersion(track: Proportion) -> float:
    """How much more one track's per-unit event counts vary than a constant rate allows."""
    rate = (track.events + 0.5) / (track.total + 1)
    return _pearson((e, n * rate, n * rate * (1 - rate)) for e, n in track.units if n > 0)


def comparison_dispersion(canary: Proportion, stable: Proportion) -> float:
    """The over-dispersion of the canary-vs-stable evidence, the larger of two views of it.

    The canary's share of each unit's events catches bursts in either track against the other, and
    ignores bursts both tracks share. The share is judged against the ratio estimated from the totals,
    which a burst of the smaller track's own can pull towards itself; so each track's own dispersion
    counts too, weighted as it weighs in the variance of the rate ratio (1/events per track).
    """
    if not canary.units:
        return 1.0
    ratio = ((canary.events + 0.5) / max(canary.total, 1)) / ((stable.events + 0.5) / max(stable.total, 1))

    def terms() -> Iterable[tuple[float, float, float]]:
        if len(canary.units) != len(stable.units):
            return  # unpaired units: only the tracks' own dispersion below can be judged
        for (ce, cn), (se, sn) in zip(canary.units, stable.units, strict=True):
            events = ce + se
            if events and cn and sn:
                p = share(cn, sn, ratio)
                yield ce, events * p, events * p * (1 - p)

    c, s = canary.events + 0.5, stable.events + 0.5
    own = (limit_dispersion(canary) * s + limit_dispersion(stable) * c) / (c + s)
    return max(_pearson(terms()), own)


# --- comparison with stable -------------------------------------------------------------------


def share(n_canary: float, n_stable: float, ratio: float) -> float:
    """The canary's expected share of all events when its rate is `ratio` times stable's."""
    return n_canary * ratio / (n_canary * ratio + n_stable)


def _log_sum(values: Iterable[float]) -> float:
    items = list(values)
    top = max(items)
    return top + math.log(sum(math.exp(v - top) for v in items))


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
    p0 = share(canary.total, stable.total, tolerance)
    p1 = share(canary.total, stable.total, regression)
    dispersion = comparison_dispersion(canary, stable)
    head += _dispersion_shown(dispersion)

    def log_lr_against(p: float) -> float:
        # Effective counts: bursty evidence weighs its count divided by the over-dispersion.
        return (canary.events * math.log(p / p0) + stable.events * (math.log1p(-p) - math.log1p(-p0))) / dispersion

    log_lr = log_lr_against(p1)
    log_fail = _log_sum(
        math.log(weight) + log_lr_against(share(canary.total, stable.total, regression * factor))
        for factor, weight in FAIL_ALTERNATIVES
    )
    p_healthy = math.exp(min(0.0, -log_fail))
    p_regression = math.exp(min(0.0, log_lr))
    if log_fail >= -math.log(false_fail):
        verdict: Verdict = "fail"
        reason = f"{head}, {_p(p_healthy)}, limit {versus}{TIMES}{tolerance:g})"
    elif log_lr <= math.log(false_pass):
        verdict = "pass"
        reason = f"{head}, {_p(p_regression)} for ≥{regression:g}{TIMES})"
    else:
        verdict = "inconclusive"
        reason = f"{head}, {_p(p_healthy)} vs {TIMES}{tolerance:g}, {_p(p_regression)} vs {TIMES}{regression:g})"
    more = None
    if verdict == "inconclusive":
        more = _more_for_comparison(canary, stable, tolerance, regression, log_lr, false_pass, false_fail, p0, p1)
        more = min(NEVER, math.ceil(more * dispersion))
    return Check(
        name, verdict, reason, threshold, canary, stable, log_lr, p_healthy, p_regression, None, more, "", dispersion
    )


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
    events_needed = distance / abs(drift)
    # With no events yet in either track, the rate is at most about one event in all requests seen.
    per_canary_request = max(events, 1) / canary.total
    return min(NEVER, math.ceil(events_needed / per_canary_request))


# --- absolute limit ---------------------------------------------------------------------------


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _prior(limit: float) -> tuple[float, float]:
    """Beta prior with mean `limit` and spread of the order of `limit`: mass where the question is."""
    return 1.0, (1 - limit) / limit


def log_mixture(events: float, total: float, rate: float, prior: tuple[float, float]) -> float:
    """log of the beta-mixture likelihood ratio against the point `rate` (a test martingale at `rate`)."""
    a, b = prior
    return (
        _log_beta(a + events, b + total - events)
        - _log_beta(a, b)
        - events * math.log(rate)
        - (total - events) * math.log1p(-rate)
    )


def confidence_bounds(events: float, total: float, level: float, prior: tuple[float, float]) -> tuple[float, float]:
    """Anytime-valid interval: every rate the mixture has not rejected at `level`."""
    cut = -math.log(level)
    estimate = min(max(events / total, 1e-12), 1 - 1e-12)

    def rejected(rate: float) -> bool:
        return log_mixture(events, total, rate, prior) >= cut

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
    dispersion = limit_dispersion(canary)
    # Effective counts: bursty evidence weighs its count divided by the over-dispersion.
    events, total = canary.events / dispersion, canary.total / dispersion
    log_m = log_mixture(events, total, limit, prior)
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
    if estimate > limit and log_m >= -math.log(false_fail):
        verdict: Verdict = "fail"
        reason = f"{head}, {_p(p_value)}, limit {threshold})"
    elif estimate < limit and log_m >= -math.log(false_pass):
        verdict = "pass"
        reason = f"{head}, {_p(p_value)} for ≥ {_pct(limit)})"
    else:
        verdict = "inconclusive"
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
        return log_mixture(rate * n, n, limit, prior) >= cut

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


def decide(
    canary: Track,
    stable: Track,
    criteria: SloGateCriteria,
    timing: Timing,
    versus: str = "stable",
    bounds: bool = True,
) -> Decision:
    """All checks, combined: any fail fails, then error, then inconclusive; pass needs every check to pass."""
    alpha = criteria.false_fail_rate / 5
    beta = criteria.false_pass_rate
    regression = criteria.regression_factor
    checks = [
        compare(
            "error_ratio", canary.errors, stable.errors, criteria.error_ratio_vs_stable, regression, beta, alpha, versus
        ),
        below_limit("error_slo", canary.errors, criteria.error_ratio_max, beta, alpha, bounds),
        compare(
            "latency_p95", canary.slow, stable.slow, criteria.slow_ratio_vs_stable, regression, beta, alpha, versus
        ),
        below_limit("latency_p95_slo", canary.slow, criteria.slow_ratio_max, beta, alpha, bounds),
        below_limit("latency_p99_slo", canary.very_slow, criteria.very_slow_ratio_max, beta, alpha, bounds),
    ]
    return combine(checks, canary.errors.total, timing)


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
        reason = f"stage timed out after {timing.elapsed_seconds / 60:.0f} minutes and {names} still cannot decide"
    else:
        reason = f"not enough evidence yet for {names}"
    return Decision("inconclusive", reason, tuple(checks), needed, more_minutes)


def with_note(decision: Decision, names: set[str], note: str) -> Decision:
    checks = tuple(replace(c, note=note) if c.name in names else c for c in decision.checks)
    return replace(decision, checks=checks)
