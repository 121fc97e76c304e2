"""Promotion gates: where the SLO gate reads metrics and what the GA readiness gate requires."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from settings.base import SecretField, Settings

# The SLO gate counts per this many seconds to tell bursty failures from independent ones; every unit
# needs two scrapes for `increase()`, so the scrape interval may be at most half of it.
GATE_UNIT_SECONDS = 60


PrometheusAccess = Literal["auto", "direct", "kubernetes_proxy", "sigv4"]


class PrometheusConnection(Settings):
    url: str = Field("http://kube-prometheus-stack-prometheus.monitoring.svc:9090", pattern=r"^https?://")
    access: PrometheusAccess = Field(
        "auto",
        description="How the gate reaches `url` from where `up` runs: `kubernetes_proxy` through the API "
        "server's service proxy with the runner's kubeconfig, `sigv4` signed for Amazon Managed Prometheus, "
        "`direct`; `auto` picks the proxy for a cluster-DNS URL, SigV4 for an aps-workspaces URL.",
    )
    region: str | None = Field(None, description="SigV4 region; default: the one in the aps-workspaces host.")
    bearer_token: str | None = SecretField(description="Secret; or env AGENT_PLATFORM_PROMETHEUS_TOKEN at evaluation.")
    username: str | None = None
    password: str | None = SecretField(description="Secret; basic auth password.")
    query_timeout_seconds: float = Field(10.0, gt=0)
    deadline_seconds: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0)


class SloGateCriteria(Settings):
    error_ratio_vs_stable: float = Field(1.1, ge=1)
    error_ratio_max: float = Field(0.005, gt=0, lt=1)
    slow_threshold_seconds: float = Field(0.5, gt=0)
    slow_ratio_vs_stable: float = Field(1.2, ge=1)
    slow_ratio_max: float = Field(0.05, gt=0, lt=1)
    very_slow_threshold_seconds: float = Field(2.0, gt=0)
    very_slow_ratio_max: float = Field(0.01, gt=0, lt=1)
    regression_factor: float = Field(1.5, gt=1, description="A canary this much worse must be caught.")
    false_pass_rate: float = Field(0.01, gt=0, lt=0.5)
    false_fail_rate: float = Field(0.05, gt=0, lt=0.5)

    @model_validator(mode="after")
    def _regression_beyond_tolerance(self) -> SloGateCriteria:
        tolerance = max(self.error_ratio_vs_stable, self.slow_ratio_vs_stable)
        if self.regression_factor <= tolerance:
            raise ValueError(
                f"regression_factor {self.regression_factor:g} must exceed the tolerated ratio {tolerance:g}: "
                "the gate tells a tolerable canary from a regression"
            )
        if self.very_slow_threshold_seconds <= self.slow_threshold_seconds:
            raise ValueError(
                f"very_slow_threshold_seconds {self.very_slow_threshold_seconds:g} must exceed "
                f"slow_threshold_seconds {self.slow_threshold_seconds:g}"
            )
        return self


RequiredItem = Literal[
    "trace_coverage",
    "policy_prechecks",
    "capability_owners",
    "offline_eval_pass",
    "slo_defined",
    "rollback_plan",
    "oncall_owner",
]
BlockingFlag = Literal["unknown_side_effect_path_missing", "direct_tool_access_present", "policy_decisions_not_traced"]


class RolloutMode(Settings):
    initial: Literal["canary", "blue_green"] = "canary"
    max_tenant_exposure_pct: float = Field(5.0, gt=0, le=100)
    require_shadow_period: bool = True


class RolloutChecklist(Settings):
    """The production rollout checklist; each item is backed by settings or the agent's checklist evidence."""

    require: list[RequiredItem] = Field(default_factory=lambda: list(get_args(RequiredItem)))
    rollout_mode: RolloutMode = RolloutMode()
    block_if: list[BlockingFlag] = Field(default_factory=lambda: list(get_args(BlockingFlag)))
    min_trace_coverage: float = Field(0.99, gt=0, le=1, description="Share of runs with a trace_id.")


class GaGate(Settings):
    min_security_score: float = Field(0.90, ge=0, le=1)
    max_p95_latency_ms: float = Field(500, gt=0)
    max_remaining_flags: int = Field(0, ge=0)
    min_documentation_coverage: float = Field(0.80, ge=0, le=1)
    min_required_approvals: int = Field(3, ge=1)
    min_overall_score: float = Field(0.90, ge=0, le=1)
    max_evidence_age: str = Field("7d", pattern=r"^\d+(h|d)$")
    source: str = Field(
        "evidence/{agent_id}/{tenant_id}.json",
        description="GA readiness document per tenant: a file path, an HTTPS URL, or plain HTTP to a "
        "cluster-local or loopback host; `{agent_id}`, `{tenant_id}`, `{namespace}` are filled in.",
    )
    checklist_source: str = Field(
        "evidence/{agent_id}/checklist.json", description="The agent's rollout-checklist evidence, beside the GA one."
    )
    checklist: RolloutChecklist = RolloutChecklist()
    checklists: dict[str, RolloutChecklist] = Field(
        default_factory=dict, description="Per-agent checklist overrides, by agent id."
    )

    def checklist_for(self, agent_id: str) -> RolloutChecklist:
        return self.checklists.get(agent_id, self.checklist)


class Gates(Settings):
    prometheus: PrometheusConnection = PrometheusConnection()
    slo: SloGateCriteria = SloGateCriteria()
    ga: GaGate = GaGate()
