"""Promotion gates: where the SLO gate reads metrics and what the GA readiness gate requires."""

from __future__ import annotations

from pydantic import Field

from stacks.settings.base import SecretField, Settings


class PrometheusConnection(Settings):
    url: str = Field("http://kube-prometheus-stack-prometheus.monitoring.svc:9090", pattern=r"^https?://")
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


class GaGate(Settings):
    min_security_score: float = Field(0.90, ge=0, le=1)
    max_p95_latency_ms: float = Field(500, gt=0)
    max_remaining_flags: int = Field(0, ge=0)
    min_documentation_coverage: float = Field(0.80, ge=0, le=1)
    min_required_approvals: int = Field(3, ge=1)
    min_overall_score: float = Field(0.90, ge=0, le=1)
    max_evidence_age: str = Field("7d", pattern=r"^\d+(h|d)$")
    evidence_dir: str = "evidence"


class Gates(Settings):
    prometheus: PrometheusConnection = PrometheusConnection()
    slo: SloGateCriteria = SloGateCriteria()
    ga: GaGate = GaGate()
