"""The PromQL the SLO gate runs: one query shape for both tracks, counting from the stage's start.

`increase()` over the whole stage accumulates evidence from its start (a sliding window would forget
it) and handles counter resets from restarted pods. Sums run over every capability and status.
"""

from __future__ import annotations

from dataclasses import dataclass

from conventions.metrics import REQUEST_DURATION, REQUESTS, le_matcher, status_matcher

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
