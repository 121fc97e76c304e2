"""The agent checks' evidence from Prometheus: per track, in total over the stage and per unit of time.

Every series the enabled checks read is required (the agent contract, `conventions/metrics.py`): a
missing one is a fault that makes the gate `error`, never a zero that could pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gates.agent_checks import FIELDS, AgentTrack, Amount, enabled_checks
from gates.decision import Check, Proportion, Track, error
from gates.prometheus import PrometheusClient, QueryError
from gates.queries import Selector, agent_queries
from settings.gates import AgentGateChecks

# Which queries each check reads: (amount or events, the count it is divided by).
READS = {
    "input_tokens_per_request": ("input_tokens", None),
    "output_tokens_per_request": ("output_tokens", None),
    "cost_per_request": ("cost", None),
    "tool_failure_share": ("tool_failures", "tool_calls"),
    "llm_5xx_share": ("llm_5xx", "llm_responses"),
}


def prices_of(settings: AgentGateChecks) -> dict[str, tuple[float, float]]:
    return {model: (p.input_per_million, p.output_per_million) for model, p in settings.prices.items()}


def measure_agent(
    client: PrometheusClient,
    selector: Selector,
    settings: AgentGateChecks,
    slo: Track,
    at: datetime,
    window: int,
    unit: int,
    track: str,
) -> AgentTrack | Check:
    """The enabled checks' evidence for one track; requests per request-based amount come from the SLO
    track's own request counts (the same query, already measured)."""
    names = enabled_checks(settings)
    if not names:
        return AgentTrack()
    prices = prices_of(settings)
    totals, per_unit = agent_queries(selector, window, prices), agent_queries(selector, unit, prices)
    count = max(1, window // unit)
    first = at - timedelta(seconds=unit * (count - 1))
    steps = [round(first.timestamp() + unit * k, 3) for k in range(count)]
    needed = {q for name in names for q in READS[name] if q}
    try:
        if "cost_per_request" in names:
            unpriced = client.query(totals.unpriced_tokens, at)
            if round(unpriced) > 0:
                models = ", ".join(sorted(prices))
                return error(
                    f"{track}_data",
                    f"{track}: {unpriced:,.0f} tokens of models without a price in gates.agent.prices (priced: "
                    f"{models}); add their prices or turn cost_per_request off: {totals.unpriced_tokens}",
                )
        values = {q: client.query(getattr(totals, q), at) for q in sorted(needed)}
        series = {q: client.query_range(getattr(per_unit, q), first, at, unit) for q in sorted(needed)}
    except QueryError as exc:
        return error(f"{track}_data", f"{track}: {exc.reason}")
    by_time = {q: {round(t, 3): v for t, v in points.items()} for q, points in series.items()}

    def units(q: str) -> list[float]:
        return [by_time[q].get(t, 0.0) for t in steps]

    requests = slo.errors
    request_units = [n for _, n in requests.units] if requests.units else []
    found: dict[str, Amount | Proportion] = {}
    for name in names:
        amount_q, total_q = READS[name]
        if total_q is None:
            found[FIELDS[name]] = Amount(
                max(0.0, values[amount_q]),
                requests.total,
                getattr(totals, amount_q),
                requests.total_query,
                tuple(zip((max(0.0, v) for v in units(amount_q)), request_units, strict=True)),
            )
        else:
            found[FIELDS[name]] = _proportion(
                values[amount_q],
                values[total_q],
                getattr(totals, amount_q),
                getattr(totals, total_q),
                units(amount_q),
                units(total_q),
            )
    return AgentTrack(**found)  # type: ignore[arg-type]


def _proportion(
    events: float, total: float, events_query: str, total_query: str, unit_events: list[float], unit_totals: list[float]
) -> Proportion:
    """`increase()` extrapolates each series on its own, so nested counts can cross by a call or two."""
    n = round(total)
    pairs = tuple((min(max(0, round(e)), round(t)), round(t)) for e, t in zip(unit_events, unit_totals, strict=True))
    return Proportion(min(max(0, round(events)), n), n, events_query, total_query, pairs)
