"""Names several components share. Defined once here; the components that own the objects create them."""

from __future__ import annotations

from pydantic import Field

from conventions.metrics import DEFAULT_ERROR_STATUSES
from settings.base import Settings
from settings.formats import KmsAlias, ObjectName


class AgentSecretKeys(Settings):
    """Keys of the agents' Secret, produced by External Secrets from AWS Secrets Manager."""

    database_url: str = "database-url"
    redis_url: str = "redis-url"
    data_region: str = "data-region"
    redis_replication_group: str = "redis-replication-group"
    anthropic_api_key: str = "anthropic-api-key"
    openai_key: str = "openai-key"


class MetricLabels(Settings):
    """Label names on the agent runtime's metrics; rules, dashboards and the SLO gate query by these."""

    agent_id: str = "agent_id"
    version: str = "version"
    tenant_id: str = "tenant_id"
    capability: str = "capability"
    status: str = "status"


class SharedNames(Settings):
    storage_class: ObjectName = Field("encrypted-gp3", description="Encrypted EBS StorageClass every claim uses.")
    agent_secret: ObjectName = Field("agent-secrets", description="Secret the agents read credentials from.")
    agent_secret_keys: AgentSecretKeys = AgentSecretKeys()
    kms_alias: KmsAlias = Field(
        "alias/agent-platform-{environment}",
        description="KMS key alias; `{environment}` and `{region}` are filled in per stack and region.",
    )
    metric_labels: MetricLabels = MetricLabels()
    error_statuses: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ERROR_STATUSES),
        min_length=1,
        description="Values of the `status` label that count as failed requests.",
    )
    synthetic_session_metric: str = Field(
        "agent_synthetic_session_success",
        description="Gauge the hourly synthetic session pushes (1 success, 0 failure).",
    )

    def kms_alias_for(self, environment: str, region: str) -> str:
        return self.kms_alias.format(environment=environment, region=region)

    @property
    def error_status_regex(self) -> str:
        return "|".join(self.error_statuses)
