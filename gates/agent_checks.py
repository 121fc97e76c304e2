"""The SLO gate's agent checks: how an agent regresses beyond errors and latency. No I/O.

Canary against stable over the same window, with the guarantees of `gates.decision`:

* Tool-call failure share and LLM-provider 5xx share are proportions (failed calls among calls, 5xx
  answers among provider calls): `gates.decision.compare`, unchanged.
* Tokens per request (input, output) and cost per request are ratios of means of per-request amounts
  that are heavy-tailed (a few long sessions carry much of the spend) and over-dispersed. They reuse the
  same conditional test: a compound-Poisson track (requests as a Poisson stream, each with an amount
  drawn from any distribution) gives, per unit of time, an amount whose variance is φ times its mean, with
  φ = E[X²]/E[X] per request. Given both tracks' amounts, the canary's share of them then has the
  conditional-binomial mean p(r) = n_c·r / (n_c·r + n_s) (r the ratio of the canary's mean per request to
  stable's) and, by the quasi-likelihood argument, the binomial variance times φ. So the amounts are
  judged exactly like events, as tiny shares of `SLOTS` slots per request (so the binomial is Poisson),
  with the per-minute over-dispersion estimate the error test uses dividing them by φ. That estimate
  is what makes the test valid for these amounts: independent requests would give φ = 1 token, real ones
  give φ of the order of a request's tokens. It is measured, not proved, for heavy tails
  (`tests/gates/test_agent_statistics.py`, `benchmarks/agent_gate.py`).

The false-fail budget is split over the SLO checks and these (`split_criteria`); each keeps the whole
false-pass budget, as every SLO check does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from gates.decision import (
    CODES,
    INCONCLUSIVE,
    MIN_UNITS,
    NEVER,
    PASS,
    TIMES,
    Check,
    Comparison,
    Counts,
    Decision,
    Proportion,
    Timing,
    Track,
    Verdict,
    _log_lr_step,
    _p,
    _pearson,
    _share_terms,
    combine,
    compare,
    comparison,
    comparison_dispersion,
    confidence_bounds,
    decide,
    p_values,
    per_request,
    per_unit,
    verdict_reasons,
)
from settings.gates import AgentGateChecks, SloGateCriteria

# Each request is `SLOTS` slots, of which its amount (tokens, micro-dollars) fills as many: the amounts
# are then shares far below 1, where the conditional binomial is the Poisson one and the ratio of shares
# is the ratio of means per request.
SLOTS = 1e12
SLO_CHECKS = 5  # gates.decision.check_plan
USAGE = ("input_tokens_per_request", "output_tokens_per_request", "cost_per_request")
SHARES = ("tool_failure_share", "llm_5xx_share")
UNITS = {"input_tokens_per_request": "tokens", "output_tokens_per_request": "tokens", "cost_per_request": "µ$"}
FIELDS = {
    "input_tokens_per_request": "input_tokens",
    "output_tokens_per_request": "output_tokens",
    "cost_per_request": "cost",
    "tool_failure_share": "tool_failures",
    "llm_5xx_share": "llm_5xx",
}

AmountUnit = tuple[float, int]  # (amount, requests) in one unit of time


@dataclass(frozen=True)
class Amount:
    """A sum over the window's requests (tokens, micro-dollars), with the same per unit of time, oldest first."""

    amount: float
    requests: int
    amount_query: str = ""
    requests_query: str = ""
    units: tuple[AmountUnit, ...] = ()

    @classmethod
    def from_units(cls, amounts: Sequence[float], requests: Sequence[int]) -> Amount:
        return cls(float(sum(amounts)), int(sum(requests)), units=per_unit(amounts, requests))

    def __post_init__(self) -> None:
        if self.amount < 0 or self.requests < 0:
            raise ValueError(f"impossible counts: {self.amount} over {self.requests} requests")

    @property
    def mean(self) -> float:
        return per_request(self.amount, self.requests)


@dataclass(frozen=True)
class AgentTrack:
    """One track's agent evidence; None where its check is off."""

    input_tokens: Amount | None = None
    output_tokens: Amount | None = None
    cost: Amount | None = None
    tool_failures: Proportion | None = None
    llm_5xx: Proportion | None = None


@dataclass(frozen=True)
class AmountCheck(Check):
    """A check on means per request: its evidence are amounts, not proportions."""

    canary_amount: Amount | None = None
    stable_amount: Amount | None = None

    @property
    def queries(self) -> list[str]:
        tracks = [t for t in (self.canary_amount, self.stable_amount) if t is not None]
        return [q for t in tracks for q in (t.amount_query, t.requests_query) if q]

    def as_dict(self) -> dict[str, object]:
        def shown(a: Amount | None) -> dict[str, float] | None:
            return {"amount": round(a.amount, 3), "requests": a.requests} if a else None

        return {**super().as_dict(), "canary": shown(self.canary_amount), "stable": shown(self.stable_amount)}


# --- the statistics on arrays ---------------------------------------------------------------------


@dataclass(frozen=True)
class AmountCounts:
    """Amounts of many rollouts: totals, shape (R,), and per unit of time, shape (R, K)."""

    amount: np.ndarray
    requests: np.ndarray
    unit_amount: np.ndarray
    unit_requests: np.ndarray

    @classmethod
    def of(cls, amount: Amount) -> AmountCounts:
        units = np.array(amount.units, dtype=float).reshape(1, -1, 2)
        return cls(np.array([amount.amount]), np.array([float(amount.requests)]), units[..., 0], units[..., 1])

    @classmethod
    def from_units(cls, amounts: np.ndarray, requests: np.ndarray) -> AmountCounts:
        amounts, requests = np.asarray(amounts, float), np.asarray(requests, float)
        return cls(amounts.sum(axis=-1), requests.sum(axis=-1), amounts, requests)

    def as_counts(self) -> Counts:
        """The amounts as events among `SLOTS` slots per request (see the module's docstring)."""
        return Counts(self.amount, self.requests * SLOTS, self.unit_amount, self.unit_requests * SLOTS)


def usage_comparison(
    canary: AmountCounts,
    stable: AmountCounts,
    tolerance: float,
    regression: float,
    false_pass: float,
    false_fail: float,
    min_requests: int = 0,
) -> Comparison:
    """`gates.decision.comparison` on the amounts: pass once a mean `regression` times stable's is
    excluded, fail once the mixture over regressions excludes `tolerance` times,
    both with the per-unit over-dispersion dividing the evidence."""
    c, s = canary.as_counts(), stable.as_counts()
    result = comparison(c, s, tolerance, regression, false_pass, false_fail, usage_dispersion(c, s))
    held = (result.verdict == PASS) & (canary.requests < min_requests)
    return replace(result, verdict=np.where(held, INCONCLUSIVE, result.verdict))


def usage_dispersion(canary: Counts, stable: Counts) -> np.ndarray:
    """The over-dispersion of the canary's share of each unit's amount, at its upper confidence bound.

    Unlike errors, both tracks always show their amounts (every request has tokens), so neither needs
    the other's dispersion to stand for its own; and tokens per request move with the traffic's mix from
    minute to minute in both tracks at once (a batch of long documents), which each track's own dispersion
    would count while the canary's share does not move. The share's dispersion is what the conditional
    test's variance is made of. Without paired units, the tracks' own dispersion (`comparison_dispersion`).
    """
    terms = _share_terms(canary, stable)
    return comparison_dispersion(canary, stable) if terms is None else _pearson(*terms)


def ratio_bounds(
    canary: float, stable: float, n_canary: float, n_stable: float, dispersion: float, low: float, high: float
) -> tuple[float, float]:
    """Anytime-valid bounds on the ratio of means: the beta-mixture sequence on the canary's share of the
    amounts (in effective units, divided by the dispersion), mapped to r = p·n_s / ((1 - p)·n_c)."""
    events, total = canary / dispersion, (canary + stable) / dispersion
    middle = n_canary / (n_canary + n_stable)  # the share at equal means
    prior = (1.0, (1 - middle) / middle)

    def ratio(p: float) -> float:
        return math.inf if p >= 1 else p * n_stable / ((1 - p) * n_canary)

    lower, upper = confidence_bounds(events, total, low, prior)[0], confidence_bounds(events, total, high, prior)[1]
    return ratio(lower), ratio(upper)


# --- one gate's checks --------------------------------------------------------------------------------


def usage_check(
    name: str,
    canary: Amount,
    stable: Amount,
    tolerance: float,
    regression: float,
    false_pass: float,
    false_fail: float,
    versus: str = "stable",
    min_requests: int = 0,
) -> AmountCheck:
    unit = UNITS.get(name, "")
    threshold = f"{versus}{TIMES}{tolerance:g} per request (regression {versus}{TIMES}{regression:g})"

    def made(verdict: Verdict, reason: str, **more: object) -> AmountCheck:
        return AmountCheck(
            name,
            verdict,
            reason,
            threshold,
            canary_amount=canary,
            stable_amount=stable,
            **more,  # type: ignore[arg-type]
        )

    if canary.requests == 0 or stable.requests == 0:
        return made("inconclusive", f"no {'canary' if canary.requests == 0 else versus} requests yet")
    busy = sum(1 for _, n in canary.units if n)
    if canary.units and busy < MIN_UNITS:
        return made("inconclusive", f"canary requests in only {busy} units of time; a burst cannot be told apart yet")
    if stable.amount == 0 and canary.amount == 0:
        return made("inconclusive", f"neither track used any {unit} yet")
    result = usage_comparison(
        AmountCounts.of(canary), AmountCounts.of(stable), tolerance, regression, false_pass, false_fail, min_requests
    )
    verdict: Verdict = CODES[int(result.verdict[0])]  # type: ignore[assignment]
    log_lr, log_fail, dispersion = float(result.log_lr[0]), float(result.log_fail[0]), float(result.dispersion[0])
    estimate = canary.mean / stable.mean if stable.amount else math.inf
    bounds = ratio_bounds(
        canary.amount, stable.amount, canary.requests, stable.requests, dispersion, false_fail, false_pass
    )
    head = (
        f"canary {canary.mean:,.1f} vs {versus} {stable.mean:,.1f} {unit} per request, ratio {estimate:.3f} "
        f"[{bounds[0]:.3f}, {bounds[1]:.3f}] (n={canary.requests}/{stable.requests}, "
        f"dispersion {dispersion:,.0f} {unit}"
    )
    p_healthy, p_regression = p_values(log_lr, log_fail)
    reasons = verdict_reasons(head, p_healthy, p_regression, tolerance, regression, versus)
    more = None
    if verdict in ("fail", "pass"):
        reason = reasons[verdict]
    elif log_lr <= math.log(false_pass) and canary.requests < min_requests:
        reason = (
            f"{head}, {_p(p_regression)} for ≥{regression:g}{TIMES}, but a pass needs {min_requests:,} canary "
            "requests, so that the tail of the amounts per request has shown)"
        )
        more = min_requests - canary.requests
    else:
        reason = reasons["inconclusive"]
        more = _more_requests(canary, stable, estimate, tolerance, regression, log_lr, false_pass, false_fail, result)
        if estimate <= math.sqrt(tolerance * regression):
            more = max(more, min_requests - canary.requests)
    return made(
        verdict,
        reason,
        statistic=log_lr,
        p_healthy=p_healthy,
        p_regression=p_regression,
        bounds=bounds,
        more_requests=more,
        dispersion=dispersion,
    )


def _more_requests(
    canary: Amount,
    stable: Amount,
    estimate: float,
    tolerance: float,
    regression: float,
    log_lr: float,
    false_pass: float,
    false_fail: float,
    result: Comparison,
) -> int:
    """Canary requests until a boundary if the hypothesis nearer the estimate holds: the distance over the
    expected drift per effective unit (amount over the dispersion), at the current amounts per canary request."""
    p0, p1, dispersion = float(result.p0[0]), float(result.p1[0]), float(result.dispersion[0])
    healthy = estimate <= math.sqrt(tolerance * regression)
    drift = _log_lr_step(p0 if healthy else p1, p0, p1)
    distance = (log_lr - math.log(false_pass)) if healthy else (-math.log(false_fail / 2) - log_lr)
    effective_needed = max(distance, 0.0) / abs(drift)
    per_canary_request = (canary.amount + stable.amount) / dispersion / canary.requests
    if per_canary_request <= 0:
        return NEVER
    return min(NEVER, max(1, math.ceil(effective_needed / per_canary_request)))


def enabled_checks(settings: AgentGateChecks) -> list[str]:
    """The checks to run, in the order the report lists them."""
    return [name for name in (*USAGE, *SHARES) if name in settings.enabled]


def split_criteria(criteria: SloGateCriteria, settings: AgentGateChecks) -> SloGateCriteria:
    """The SLO checks' criteria with their share of the false-fail budget once agent checks join them.

    `gates.decision.decide` splits `false_fail_rate` over its own checks; scaling it by their share of all
    checks leaves every check, SLO or agent, the same share of the budget.
    """
    total = SLO_CHECKS + len(enabled_checks(settings))
    return criteria.model_copy(update={"false_fail_rate": criteria.false_fail_rate * SLO_CHECKS / total})


def agent_checks(
    canary: AgentTrack,
    stable: AgentTrack,
    criteria: SloGateCriteria,
    settings: AgentGateChecks,
    versus: str = "stable",
) -> list[Check]:
    names = enabled_checks(settings)
    alpha = criteria.false_fail_rate / (SLO_CHECKS + len(names))
    beta = criteria.false_pass_rate
    checks: list[Check] = []
    for name in names:
        c, s = getattr(canary, FIELDS[name]), getattr(stable, FIELDS[name])
        if c is None or s is None:
            checks.append(Check(name, "error", f"{name}: no evidence measured", ""))
        elif name in USAGE:
            tol, reg = settings.usage_ratio_vs_stable, settings.usage_regression_factor
            floor = settings.usage_min_canary_requests
            checks.append(usage_check(name, c, s, tol, reg, beta, alpha, versus, floor))
        else:
            tol, reg = settings.share_ratio_vs_stable, settings.share_regression_factor
            checks.append(share_check(name, c, s, tol, reg, beta, alpha, versus))
    return checks


def share_check(
    name: str,
    canary: Proportion,
    stable: Proportion,
    tolerance: float,
    regression: float,
    false_pass: float,
    false_fail: float,
    versus: str = "stable",
) -> Check:
    """`gates.decision.compare`, with the anytime-valid bounds of the rate ratio in the report as well."""
    check = compare(name, canary, stable, tolerance, regression, false_pass, false_fail, versus)
    if check.verdict == "error" or canary.total == 0 or stable.total == 0 or canary.events + stable.events == 0:
        return check
    bounds = ratio_bounds(
        canary.events, stable.events, canary.total, stable.total, check.dispersion, false_fail, false_pass
    )
    ratio = canary.rate / stable.rate if stable.events else math.inf
    shown = f"; ratio {ratio:.3f} [{bounds[0]:.3f}, {bounds[1]:.3f}]"
    return replace(check, bounds=bounds, reason=check.reason + shown)


def decide_with_agent(
    canary: Track,
    stable: Track,
    canary_agent: AgentTrack,
    stable_agent: AgentTrack,
    criteria: SloGateCriteria,
    settings: AgentGateChecks,
    timing: Timing,
    versus: str = "stable",
) -> Decision:
    """`gates.decision.decide` and the agent checks, under one false-fail budget, combined like the SLO checks."""
    slo = decide(canary, stable, split_criteria(criteria, settings), timing, versus)
    extra = agent_checks(canary_agent, stable_agent, criteria, settings, versus)
    if not extra:
        return slo
    return combine([*slo.checks, *extra], canary.errors.total, timing)


def usage_verdicts(
    canary: Sequence[AmountCounts],
    stable: Sequence[AmountCounts],
    settings: AgentGateChecks,
    criteria: SloGateCriteria,
    timing: Timing,
) -> np.ndarray:
    """The usage checks' combined verdict for many rollouts, as codes (PASS, INCONCLUSIVE, FAIL), shape (R,).

    What `usage_check` gives each row, for simulations; each check's false-fail share is
    the gate's with every enabled check.
    """
    alpha = criteria.false_fail_rate / (SLO_CHECKS + len(enabled_checks(settings)))
    codes = np.full(canary[0].amount.shape, PASS)
    for c, s in zip(canary, stable, strict=True):
        tolerance, regression = settings.usage_ratio_vs_stable, settings.usage_regression_factor
        floor = settings.usage_min_canary_requests
        result = usage_comparison(c, s, tolerance, regression, criteria.false_pass_rate, alpha, floor)
        codes = np.maximum(codes, result.verdict)
    if timing.elapsed_seconds < timing.min_seconds:
        codes = np.where(codes == PASS, INCONCLUSIVE, codes)
    return codes
