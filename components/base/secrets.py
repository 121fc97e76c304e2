"""Keys of the agents' Secret: TenantDataAccess writes them (External Secrets), AgentService reads them."""

from __future__ import annotations

from components.base.values import Value


class AgentSecretKeys(Value):
    database_url: str
    redis_url: str
    data_region: str
    redis_replication_group: str
    anthropic_api_key: str
    openai_key: str
