"""The PromQL the SLO gate runs: one query shape for both tracks, counting from the stage's start.

`increase()` over the whole stage accumulates evidence from its start (a sliding window would forget
it) and handles counter resets from restarted pods. Sums run over every capability and status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conventions.metrics import (
    CODE,
    LLM_RESPONSES,
    LLM_TOKENS,
    MODEL,
    REQUEST_DURATION,
    REQUESTS,
    TOKEN_TYPE,
    TOKEN_TYPES,
    TOOL_CALLS,
    TOOL_FAILURES,
    le_matcher,
    status_matcher,
)

# Names come from the metrics catalog, like the rules' and dashboards' do.
REQUESTS_METRIC = REQUESTS.name
DURATION_METRIC = REQUEST_DURATION.name


@dataclass(frozen=True)
class Selector:
    namespace: str
    agent_id: str
    version: str
    tenant_id: str | None
    labels: dict[str, str]

    def matchers(self, extra: str = "") -> str:
        pairs = [
            ("namespace", self.namespace),
            (self.labels["agent_id"], self.agent_id),
            (self.labels["version"], self.version),
        ]
        if self.tenant_id:
            pairs.append((self.labels["tenant_id"], self.tenant_id))
        text = ",".join(f'{name}="{escape(value)}"' for name, value in pairs)
        return "{" + text + (f",{extra}" if extra else "") + "}"


@dataclass(frozen=True)
class TrackQueries:
    requests: str
    errors: str
    latency_total: str
    faster_than_slow: str
    faster_than_very_slow: str


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def track_queries(
    selector: Selector,
    window_seconds: int,
    error_statuses: list[str],
    slow_seconds: float,
    very_slow_seconds: float,
) -> TrackQueries:
    window = f"[{window_seconds}s]"
    status = status_matcher(error_statuses, selector.labels["status"])

    def total(metric: str, extra: str = "") -> str:
        return f"sum(increase({metric}{selector.matchers(extra)}{window}))"

    return TrackQueries(
        requests=total(REQUESTS_METRIC),
        # A version that never failed has no error series at all; its request series (queried above,
        # and required) show it exists, so an absent error series counts zero.
        errors=f"{total(REQUESTS_METRIC, status)} or on() vector(0)",
        latency_total=total(f"{DURATION_METRIC}_count"),
        faster_than_slow=total(f"{DURATION_METRIC}_bucket", le_matcher(slow_seconds)),
        faster_than_very_slow=total(f"{DURATION_METRIC}_bucket", le_matcher(very_slow_seconds)),
    )


@dataclass(frozen=True)
class AgentQueries:
    """The agent checks' series for one track: every one the agent contract requires must exist.

    Only the 5xx count falls back to zero: status codes are created as they happen, and the responses
    beside them (required) show the series exist.
    """

    input_tokens: str
    output_tokens: str
    cost: str
    unpriced_tokens: str
    tool_calls: str
    tool_failures: str
    llm_responses: str
    llm_5xx: str


def price_vector(prices: dict[str, tuple[float, float]]) -> str:
    """A vector with one sample per (model, token_type): micro-dollars per token, which is USD per million.

    PromQL has no vector literal with labels; `label_replace` on `vector()` with an empty source regex
    sets a label unconditionally. `$` in a replacement expands groups, so it is doubled.
    """

    def sample(value: float, model: str, kind: str) -> str:
        named = escape(model).replace("$", "$$")
        inner = f'label_replace(vector({value!r}), "{MODEL}", "{named}", "", "")'
        return f'label_replace({inner}, "{TOKEN_TYPE}", "{kind}", "", "")'

    parts = [
        sample(price, model, kind)
        for model, (input_price, output_price) in sorted(prices.items())
        for kind, price in zip(TOKEN_TYPES, (input_price, output_price), strict=True)
    ]
    return " or ".join(parts)


def agent_queries(selector: Selector, window_seconds: int, prices: dict[str, tuple[float, float]]) -> AgentQueries:
    window = f"[{window_seconds}s]"

    def total(metric: str, extra: str = "") -> str:
        return f"sum(increase({metric}{selector.matchers(extra)}{window}))"

    def tokens(kind: str) -> str:
        return total(LLM_TOKENS.name, f'{TOKEN_TYPE}="{kind}"')

    if prices:
        priced = "|".join(re.escape(m) for m in sorted(prices)).replace("\\", "\\\\")
        by_model = f"on({MODEL}, {TOKEN_TYPE}) group_left() ({price_vector(prices)})"
        cost = f"sum(increase({LLM_TOKENS.name}{selector.matchers()}{window}) * {by_model})"
        unpriced = f"{total(LLM_TOKENS.name, f'{MODEL}!~{chr(34)}{priced}{chr(34)}')} or on() vector(0)"
    else:
        cost = unpriced = ""
    return AgentQueries(
        input_tokens=tokens(TOKEN_TYPES[0]),
        output_tokens=tokens(TOKEN_TYPES[1]),
        cost=cost,
        unpriced_tokens=unpriced,
        tool_calls=total(TOOL_CALLS.name),
        tool_failures=total(TOOL_FAILURES.name),
        llm_responses=total(LLM_RESPONSES.name),
        llm_5xx=f"{total(LLM_RESPONSES.name, f'{CODE}=~{chr(34)}5..{chr(34)}')} or on() vector(0)",
    )
