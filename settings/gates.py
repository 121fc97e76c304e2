"""Promotion gates: where the SLO gate reads metrics and what the GA readiness gate requires."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from settings.base import SecretField, Settings
from settings.canary import PROD_COHORT_CAP_PCT
from settings.formats import HttpUrl, matching

# The SLO gate counts per this many seconds to tell bursty failures from independent ones; every unit
# needs two scrapes for `increase()`, so the scrape interval may be at most half of it.
GATE_UNIT_SECONDS = 60


PrometheusAccess = Literal["auto", "direct", "kubernetes_proxy", "sigv4"]


class PrometheusConnection(Settings):
    url: HttpUrl = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"
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


AgentCheckName = Literal[
    "input_tokens_per_request", "output_tokens_per_request", "cost_per_request", "tool_failure_share", "llm_5xx_share"
]
AGENT_CHECK_NAMES: tuple[str, ...] = get_args(AgentCheckName)


class ModelPrice(Settings):
    """USD per million tokens of one model, as its provider bills them."""

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(ge=0)


class AgentGateChecks(Settings):
    """The SLO gate's checks on how an agent regresses (canary against stable, `docs/gates.md`).

    Off by default: each reads series the agent contract requires (`conventions/metrics.py`), and a check
    whose series is missing holds the gate (`error`), so turn one on once the images export its series.
    """

    enabled: list[AgentCheckName] = Field(default_factory=list, description="The checks to run.")
    usage_ratio_vs_stable: float = Field(
        1.1, ge=1, description="Tokens and cost per request: the canary may use this much more than stable."
    )
    usage_regression_factor: float = Field(
        1.3, gt=1, description="Tokens and cost per request: a canary using this much more must be caught."
    )
    usage_min_canary_requests: int = Field(
        2000,
        ge=0,
        description="Tokens and cost per request pass only after this many canary requests: fewer have not shown "
        "the tail of tokens per request (a few loops and huge contexts), and a canary that has not met its tail "
        "looks cheaper than it is (docs/gates.md).",
    )
    share_ratio_vs_stable: float = Field(1.1, ge=1, description="Tool-failure and LLM-5xx shares: tolerated ratio.")
    share_regression_factor: float = Field(1.5, gt=1, description="Tool-failure and LLM-5xx shares: a regression.")
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="Per model (the `model` label), for `cost_per_request`."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AgentGateChecks:
        if len(set(self.enabled)) != len(self.enabled):
            raise ValueError(f"enabled lists a check twice: {self.enabled}")
        for kind, tolerance, regression in (
            ("usage", self.usage_ratio_vs_stable, self.usage_regression_factor),
            ("share", self.share_ratio_vs_stable, self.share_regression_factor),
        ):
            if regression <= tolerance:
                raise ValueError(
                    f"{kind}_regression_factor {regression:g} must exceed {kind}_ratio_vs_stable {tolerance:g}"
                )
        if "cost_per_request" in self.enabled and not self.prices:
            raise ValueError(
                "cost_per_request needs gates.agent.prices: USD per million input and output tokens for each model"
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
    max_tenant_exposure_pct: float = Field(PROD_COHORT_CAP_PCT, gt=0, le=100)
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
    max_evidence_age: Annotated[str, matching(r"\d+(h|d)", "an age in hours or days like 36h or 7d")] = "7d"
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
    agent: AgentGateChecks = AgentGateChecks()
    ga: GaGate = GaGate()
