"""Where monitoring objects are picked up and where alerts go."""

from __future__ import annotations

from pydantic import Field

from stacks.settings.base import Settings


class Observability(Settings):
    prometheus_selector: dict[str, str] = Field(default_factory=lambda: {"prometheus": "kube-prometheus"})
    rule_selector: dict[str, str] = Field(
        default_factory=lambda: {"prometheus": "kube-prometheus", "role": "alert-rules"}
    )
    scrape_interval: str = "15s"
    rule_interval: str = "30s"
    ticket_receiver: str = "tickets"
    runbook_base_url: str = "https://github.com/acme/agent-platform/blob/main/docs/runbooks.md"
    grafana_folder: str = "Agents"
