"""Names of every recorded series and of the labels the rules add, in one place (sloth's conventions).

Windowed names take the window as a suffix: `slo:sli_error:ratio_rate5m`.
"""

from __future__ import annotations

SLI_ERROR_RATIO = "slo:sli_error:ratio_rate{window}"
"""Share of bad events (failed requests, slow requests, bad minutes) over the window."""
SLI_BAD_EVENTS = "slo:sli_bad_events:increase{window}"
"""Number of bad events in the window: the low-traffic guard pages only above a minimum."""
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
TIME_PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN_RATE = "slo:current_burn_rate:ratio"
PERIOD_BURN_RATE = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
BAD_MINUTE = "slo:bad_minute:bool"
"""1 when the agent serves no ready pod or exceeds the error-rate objective in that minute (availability)."""
READY_PODS = "slo:ready_pods:count"

REQUEST_RATE = "agent:agent_requests:rate{window}"
"""Throughput, recorded for capacity planning; never paged on."""
CAPACITY_RATIO = "agent:agent_requests:capacity_ratio{window}"
"""Throughput as a share of `slo.capacity_rps`, the rate the notes size for."""
TRACK_ERROR_RATIO = "agent_track:sli_error:ratio_rate{window}"
"""Error ratio per track and version: canary against stable."""
LATENCY_QUANTILE = "agent:agent_request_duration_seconds:{quantile}_rate{window}"
VERSION_LATENCY_QUANTILE = "agent_version:agent_request_duration_seconds:{quantile}_rate{window}"

# Labels the rules put on their series and alerts.
SLO_LABEL = "slo"
SEVERITY = "severity"
ALERT_CLASS = "alert_class"
"""`page` or `ticket`: what the severity means to Alertmanager."""
BURN_WINDOW = "long_window"

SLO_ERRORS = "requests-errors"
SLO_AVAILABILITY = "availability"


def latency_slo(name: str) -> str:
    return f"latency-{name}"


def windowed(template: str, window: str, **kwargs: str) -> str:
    return template.format(window=window, **kwargs)
