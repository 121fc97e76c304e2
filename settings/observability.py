"""Where monitoring objects are picked up, the operational alert thresholds and where alerts go."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from settings.base import SecretField, Settings
from settings.formats import Duration, HttpsUrl, ImageReference, ObjectName

TicketPriority = Literal["P2", "P3"]
TICKET_PRIORITIES: tuple[TicketPriority, ...] = get_args(TicketPriority)


class Receiver(Settings):
    """How Alertmanager reaches a receiver; its URL or key is read from a Secret in each tenant namespace."""

    type: Literal["webhook", "pagerduty"] = "webhook"
    secret_key: str | None = Field(None, description="Key in `observability.receiver_secret`; default: the name.")
    value: str | None = SecretField(
        description="The webhook URL or PagerDuty routing key; secret. With a value for every receiver the stack "
        "creates `observability.receiver_secret` in each tenant namespace; without, creating it is an onboarding "
        "step (docs/alert-receivers.md)."
    )


class OperationalAlerts(Settings):
    """Thresholds of the architecture notes' operational, cost and agent alerts."""

    latency_page_factor: float = Field(2.0, gt=1, description="p95 this many times its objective for 5m pages.")
    restarts: int = Field(3, ge=1, description="Crash loop: more than this many restarts in `restart_window`.")
    restart_window: Duration = "10m"
    memory_pressure: float = Field(0.90, gt=0, lt=1, description="Working set over the limit, for 5m.")
    memory_exhaustion: float = Field(0.95, gt=0, le=1)
    cpu_throttling: float = Field(0.25, gt=0, lt=1, description="Share of throttled CFS periods, for 10m.")
    cpu_throttling_severe: float = Field(0.50, gt=0, le=1)
    hpa_at_max_for: Duration = "15m"
    daily_token_growth: float = Field(
        1.5, gt=1, description="Tokens in 24h over this many times the same day last week."
    )
    session_token_limit: int = Field(50_000, gt=0, description="One open session over this many tokens (stuck?).")
    tool_failure_ratio: float = Field(0.10, gt=0, lt=1)
    llm_5xx_ratio: float = Field(0.05, gt=0, lt=1)
    rollback_error_ratio: float = Field(0.05, gt=0, lt=1, description="Canary error rate that starts a rollback.")
    rollback_for: Duration = "2m"


class Observability(Settings):
    prometheus_selector: dict[str, str] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="Labels the stack's Prometheus selects ServiceMonitors by (kube-prometheus-stack: its release).",
    )
    rule_selector: dict[str, str] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack", "role": "alert-rules"},
        description="Labels on each PrometheusRule (must include the Prometheus ruleSelector).",
    )
    alertmanager_config_selector: dict[str, str] = Field(
        default_factory=lambda: {"alertmanager": "kube-prometheus"},
        description="Labels the Alertmanager selects AlertmanagerConfigs by.",
    )
    alertmanager_url: str | None = Field(
        "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093",
        pattern=r"^https?://",
        description="Alertmanager API that automatic releases post their events to (docs/releasing.md); null: none.",
    )
    scrape_interval: Duration = "15s"
    rule_interval: Duration = "30s"
    pushgateway_image: ImageReference = Field(
        "prom/pushgateway:v1.11.1", description="The per-tenant Pushgateway the synthetic sessions push to."
    )
    ticket_receivers: dict[TicketPriority, str] = Field(
        default_factory=lambda: dict.fromkeys(TICKET_PRIORITIES, "tickets"),
        description="Receivers of ticket alerts; P1 pages the agent's `oncall_receiver`.",
    )
    receivers: dict[str, Receiver] = Field(
        default_factory=dict, description="Per receiver name; receivers not listed are webhooks."
    )
    receiver_secret: ObjectName = Field(
        "alertmanager-receivers",
        description="Secret in each tenant namespace holding every receiver's webhook URL or PagerDuty key.",
    )
    runbook_base_url: HttpsUrl = "https://github.com/acme/agent-platform/blob/main/docs/runbooks.md"
    rollback_workflow: str = Field("rollback.yml", description="GitHub Actions workflow the rollback runbook runs.")
    grafana_folder: str = "Agents"
    alerts: OperationalAlerts = OperationalAlerts()
