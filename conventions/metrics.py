"""The metrics catalog: every series the rules, dashboards and the SLO gate may query, with its type and labels.

Importable without Pulumi or settings side effects, so the SLO gate (`providers/`) takes its metric and
label names from here. A test parses every rule and dashboard query and fails on a series that neither
this catalog nor a recording rule defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

MetricType = Literal["counter", "gauge", "histogram", "info"]
Source = Literal["runtime", "kube-state-metrics", "cadvisor", "pushgateway", "prometheus"]

# Label names the runtime writes on its own series.
AGENT_ID = "agent_id"
VERSION = "version"
TENANT_ID = "tenant_id"
CAPABILITY = "capability"
STATUS = "status"
ERROR_TYPE = "error_type"
PROVIDER = "provider"
MODEL = "model"
TOOL = "tool"
CODE = "code"
TOKEN_TYPE = "token_type"
"""`input` or `output`: the OpenTelemetry GenAI conventions' `gen_ai.token.type` values, as a label."""
TOKEN_TYPES: tuple[str, ...] = ("input", "output")
# Labels the ServiceMonitor adds from the target (pod labels and metadata).
NAMESPACE = "namespace"
POD = "pod"
TRACK = "track"
TARGET_LABELS: tuple[str, ...] = (NAMESPACE, POD, TRACK)

DEFAULT_ERROR_STATUSES: tuple[str, ...] = ("error", "timeout")

# Bucket boundaries (seconds) of the request-duration histogram, as the agent runtime declares them
# (`agent_metrics.py`, REQUEST_DURATION). Every latency threshold an SLO or the gate uses must be one of
# them: a quantile between boundaries is interpolated, a share over a threshold is only exact at a boundary,
# and a threshold the runtime has no bucket for matches no series at all.
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class Metric:
    name: str
    type: MetricType
    labels: tuple[str, ...]
    help: str
    source: Source = "runtime"
    exported: bool = True
    """False: the reference agent runtime does not export it; it is part of the export contract images must
    meet (docs/agent-contract.md), and `AgentContractMetricsAbsent` says when an image does not."""
    required: bool = False
    """True: the agent contract requires every image to export it, per agent, tenant and version (the SLO
    gate's checks read it, and a check whose series is missing is `error`, never `pass`)."""
    buckets: tuple[float, ...] = ()

    @property
    def series(self) -> tuple[str, ...]:
        """Names of the series Prometheus stores for this metric."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_count", f"{self.name}_sum")
        if self.type == "info" and self.source == "runtime":
            # prometheus_client's Info('agent_info') exposes the gauge `agent_info_info` (value 1).
            return (f"{self.name}_info",)
        return (self.name,)


_RUNTIME_LABELS = (AGENT_ID, VERSION, TENANT_ID)

REQUESTS = Metric(
    "agent_requests_total",
    "counter",
    (*_RUNTIME_LABELS, CAPABILITY, STATUS),
    "Requests served, by outcome; `status` values in `names.error_statuses` count as failed.",
    required=True,
)
REQUEST_DURATION = Metric(
    "agent_request_duration_seconds",
    "histogram",
    (*_RUNTIME_LABELS, CAPABILITY),
    "Request latency; latency SLOs count requests over a bucket boundary.",
    buckets=LATENCY_BUCKETS,
    required=True,
)
ERRORS = Metric(
    "agent_errors_total",
    "counter",
    (*_RUNTIME_LABELS, ERROR_TYPE),
    "Errors by type, for diagnosis; the SLO counts failed requests from `agent_requests_total`.",
)
LLM_TOKENS = Metric(
    "agent_llm_tokens_total",
    "counter",
    (*_RUNTIME_LABELS, PROVIDER, MODEL, TOKEN_TYPE),
    "LLM tokens used, `token_type` `input` (prompt) or `output` (completion), counted when the provider "
    "answers; the gate judges tokens per request of each type, and cost from `gates.agent.prices` per model.",
    required=True,
)
LLM_COST = Metric(
    "agent_llm_cost_usd_total",
    "counter",
    (*_RUNTIME_LABELS, PROVIDER, MODEL),
    "LLM spend in USD as the runtime prices it (optional: the gate prices tokens itself, from settings). "
    "The Python client adds `_total` to counters: `agent_llm_cost_usd` matches nothing.",
)
LLM_RESPONSES = Metric(
    "agent_llm_responses_total",
    "counter",
    (*_RUNTIME_LABELS, PROVIDER, MODEL, CODE),
    "LLM provider calls by the HTTP status code of the answer (`code` `5..` is the provider failing); a call "
    "that got no answer (connection refused, timeout) counts as `599`, a provider failure too.",
    exported=False,
    required=True,
)
TOOL_CALLS = Metric(
    "agent_tool_calls_total",
    "counter",
    (*_RUNTIME_LABELS, TOOL),
    "Tool invocations, failed or not.",
    exported=False,
    required=True,
)
TOOL_FAILURES = Metric(
    "agent_tool_failures_total",
    "counter",
    (*_RUNTIME_LABELS, TOOL),
    "Tool invocations that failed (a subset of `agent_tool_calls_total`: the same labels, counted with it).",
    exported=False,
    required=True,
)
SESSION_TOKENS_MAX = Metric(
    "agent_session_tokens_max",
    "gauge",
    _RUNTIME_LABELS,
    "Tokens used so far by the largest open session of the process (a stuck session keeps growing).",
    exported=False,
)
QUEUE_DEPTH = Metric(
    "agent_queue_depth",
    "gauge",
    _RUNTIME_LABELS,
    "Requests waiting in the process; the HPA scales on it when `scaling.queue_depth` is set.",
    exported=False,
)
AGENT_INFO = Metric(
    "agent_info",
    "info",
    (*_RUNTIME_LABELS, "lifecycle_state"),
    "Agent metadata (value 1); stored as `agent_info_info`.",
    exported=True,
)
SYNTHETIC_SESSION = Metric(
    "agent_synthetic_session_success",
    "gauge",
    (AGENT_ID, TENANT_ID),
    "Pushed by the hourly synthetic session: 1 success, 0 failure.",
    source="pushgateway",
    exported=False,
)

# External series the rules join or alert on.
KSM_POD_LABELS = Metric(
    "kube_pod_labels",
    "info",
    (NAMESPACE, POD, "label_agent_id", "label_tenant_id", "label_track", "label_version"),
    "Pod labels (the kube-state-metrics allowlist exports agent-id, tenant-id, track, version).",
    source="kube-state-metrics",
)
KSM_POD_READY = Metric(
    "kube_pod_status_ready", "gauge", (NAMESPACE, POD, "condition"), "Pod readiness.", source="kube-state-metrics"
)
KSM_RESTARTS = Metric(
    "kube_pod_container_status_restarts_total",
    "counter",
    (NAMESPACE, POD, "container"),
    "Container restarts.",
    source="kube-state-metrics",
)
KSM_HPA_CURRENT = Metric(
    "kube_horizontalpodautoscaler_status_current_replicas",
    "gauge",
    (NAMESPACE, "horizontalpodautoscaler"),
    "HPA current replicas.",
    source="kube-state-metrics",
)
KSM_HPA_MAX = Metric(
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "gauge",
    (NAMESPACE, "horizontalpodautoscaler"),
    "HPA maximum replicas.",
    source="kube-state-metrics",
)
CONTAINER_MEMORY = Metric(
    "container_memory_working_set_bytes",
    "gauge",
    (NAMESPACE, POD, "container"),
    "Working set (what the OOM killer compares to the limit).",
    source="cadvisor",
)
# kube-prometheus-stack drops cAdvisor's `container_spec.*` series as overlapping with kube-state-metrics
# (`kubelet.serviceMonitor.cAdvisorMetricRelabelings`), so the limit comes from kube-state-metrics.
CONTAINER_MEMORY_LIMIT = Metric(
    "kube_pod_container_resource_limits",
    "gauge",
    (NAMESPACE, POD, "container", "resource", "unit"),
    'Resource limits per container (`resource="memory"`: bytes; absent without a limit).',
    source="kube-state-metrics",
)
CONTAINER_CPU = Metric(
    "container_cpu_usage_seconds_total", "counter", (NAMESPACE, POD, "container"), "CPU time.", source="cadvisor"
)
CPU_PERIODS = Metric(
    "container_cpu_cfs_periods_total",
    "counter",
    (NAMESPACE, POD, "container"),
    "CFS enforcement periods.",
    source="cadvisor",
)
CPU_THROTTLED_PERIODS = Metric(
    "container_cpu_cfs_throttled_periods_total",
    "counter",
    (NAMESPACE, POD, "container"),
    "CFS periods in which the container was throttled (a share of periods is the throttling ratio).",
    source="cadvisor",
)

CATALOG: dict[str, Metric] = {
    m.name: m
    for m in (
        REQUESTS,
        REQUEST_DURATION,
        ERRORS,
        LLM_TOKENS,
        LLM_COST,
        LLM_RESPONSES,
        TOOL_CALLS,
        TOOL_FAILURES,
        SESSION_TOKENS_MAX,
        QUEUE_DEPTH,
        AGENT_INFO,
        SYNTHETIC_SESSION,
        KSM_POD_LABELS,
        KSM_POD_READY,
        KSM_RESTARTS,
        KSM_HPA_CURRENT,
        KSM_HPA_MAX,
        CONTAINER_MEMORY,
        CONTAINER_MEMORY_LIMIT,
        CONTAINER_CPU,
        CPU_PERIODS,
        CPU_THROTTLED_PERIODS,
    )
}


def required_metrics() -> tuple[Metric, ...]:
    """What the agent contract requires an image to export (`docs/gates.md`, `docs/agent-contract.md`)."""
    return tuple(m for m in CATALOG.values() if m.required)


def known_series() -> dict[str, Metric]:
    """Stored series name -> its metric (histograms contribute `_bucket`, `_count`, `_sum`)."""
    return {series: metric for metric in CATALOG.values() for series in metric.series}


def has_boundary(threshold: float) -> bool:
    return any(abs(b - threshold) < 1e-12 for b in LATENCY_BUCKETS)


def le_matcher(threshold: float) -> str:
    """Bucket label as Go (`2`) or Python (`2.0`) clients write it; the threshold must be a boundary."""
    spellings = sorted({format(threshold, "g"), repr(float(threshold))})
    return 'le=~"' + "|".join(re.escape(s).replace("\\", "\\\\") for s in spellings) + '"'


def status_matcher(statuses: tuple[str, ...] | list[str], label: str = STATUS) -> str:
    escaped = "|".join(re.escape(s) for s in statuses).replace("\\", "\\\\")
    return f'{label}=~"{escaped}"'
