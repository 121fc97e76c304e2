"""The agent runtime's metric definitions (seed 001, `agent_metrics.py`), declared with the real
prometheus_client and scraped once: what Prometheus stores from an image built on that runtime.

Each metric gets one observation so that every labelled series appears, as it would after the first request.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.parser import text_string_to_metric_families

IDENTITY = ["agent_id", "version", "tenant_id"]
BUCKETS = [0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0]


@dataclass(frozen=True)
class Scrape:
    labels: dict[str, frozenset[str]]
    """Stored series name -> its label names (without `le`)."""
    buckets: dict[str, tuple[float, ...]]
    """Histogram `_bucket` series -> its finite `le` boundaries."""


def scrape() -> Scrape:
    r = CollectorRegistry()
    Counter("agent_requests_total", "", [*IDENTITY, "capability", "status"], registry=r).labels(
        "a", "1", "t", "c", "success"
    ).inc()
    Histogram("agent_request_duration_seconds", "", [*IDENTITY, "capability"], buckets=BUCKETS, registry=r).labels(
        "a", "1", "t", "c"
    ).observe(0.2)
    Counter("agent_errors_total", "", [*IDENTITY, "error_type"], registry=r).labels("a", "1", "t", "e").inc()
    for name in ("agent_latency_p50_seconds", "agent_latency_p95_seconds", "agent_latency_p99_seconds"):
        Gauge(name, "", IDENTITY, registry=r).labels("a", "1", "t").set(0.1)
    Gauge("agent_memory_usage_bytes", "", IDENTITY, registry=r).labels("a", "1", "t").set(1)
    Gauge("agent_cpu_usage_percent", "", IDENTITY, registry=r).labels("a", "1", "t").set(1)
    Counter("agent_llm_tokens_total", "", [*IDENTITY, "provider", "model"], registry=r).labels(
        "a", "1", "t", "p", "m"
    ).inc()
    Counter("agent_llm_cost_usd", "", [*IDENTITY, "provider", "model"], registry=r).labels(
        "a", "1", "t", "p", "m"
    ).inc()
    Info("agent_info", "", ["agent_id", "version", "lifecycle_state", "tenant_id"], registry=r).labels(
        "a", "1", "ga", "t"
    ).info({})
    labels: dict[str, set[str]] = {}
    buckets: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(generate_latest(r).decode()):
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(k for k in sample.labels if k != "le")
            le = sample.labels.get("le")
            if le is not None and le != "+Inf":
                buckets.setdefault(sample.name, []).append(float(le))
    return Scrape({k: frozenset(v) for k, v in labels.items()}, {k: tuple(sorted(set(v))) for k, v in buckets.items()})
