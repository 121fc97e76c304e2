"""OpenMetrics text of agent traffic, which `promtool tsdb create-blocks-from openmetrics` turns into the TSDB
blocks a real Prometheus serves to the gate tests and benchmarks.

The SLO series are the runtime's (`conventions.metrics`): the request counter by status and the duration
histogram. Each family's samples stand together under its `# TYPE` line, and the text ends with `# EOF`.
"""

from __future__ import annotations

from collections.abc import Iterable

from conventions.metrics import REQUEST_DURATION, REQUESTS

REQUESTS_FAMILY = REQUESTS.name.removesuffix("_total")
DURATION_FAMILY = REQUEST_DURATION.name
BUCKET = f"{DURATION_FAMILY}_bucket"
COUNT = f"{DURATION_FAMILY}_count"


def labels(namespace: str, tenant_id: str, agent_id: str, version: str, **extra: str) -> str:
    """The label set of one track's series, in the order the scrape writes it."""
    pairs = {"namespace": namespace, "agent_id": agent_id, "version": version, "tenant_id": tenant_id, **extra}
    return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


def document(families: Iterable[tuple[str, str, list[str]]]) -> str:
    """(family, type, sample lines) in turn, then `# EOF`."""
    out: list[str] = []
    for family, kind, samples in families:
        out += [f"# TYPE {family} {kind}", *samples]
    return "\n".join([*out, "# EOF", ""])


def slo_document(counters: list[str], histogram: list[str]) -> str:
    """The request counter's and the duration histogram's samples as one text."""
    return document([(REQUESTS_FAMILY, "counter", counters), (DURATION_FAMILY, "histogram", histogram)])
