"""Names several components share. Defined once here; the components that own the objects create them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from conventions.metrics import DEFAULT_ERROR_STATUSES
from settings.base import Settings
from settings.formats import KmsAlias, ObjectName, matching

SecretKey = Annotated[
    str,
    matching(r"[-._a-zA-Z0-9]{1,253}", "a Secret key of letters, digits, '-', '_' and '.' like openai-key"),
]
"""A key of a Kubernetes Secret (its `data` keys, https://kubernetes.io/docs/concepts/configuration/secret/
#restriction-names-data); the LLM keys also end the names of Secrets Manager secrets, whose characters
(letters, digits, /_+=.@-, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html)
include these."""


class AgentSecretKeys(Settings):
    """Keys of the agents' Secret, produced by External Secrets from AWS Secrets Manager."""

    database_url: SecretKey = "database-url"
    redis_url: SecretKey = "redis-url"
    data_region: SecretKey = "data-region"
    redis_replication_group: SecretKey = "redis-replication-group"
    anthropic_api_key: SecretKey = "anthropic-api-key"
    openai_key: SecretKey = "openai-key"


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
