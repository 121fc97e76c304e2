"""TenantDataAccess: how one tenant's agents reach their data without a password passing through Pulumi.

Per tenant namespace: Secrets Manager secrets for the LLM API keys, created without a value (operators put
the values); an IAM role for External Secrets scoped to one ServiceAccount of this namespace; a
`SecretStore` and an `ExternalSecret` that produce the agents' Secret. The database and Redis URLs carry
no password: agents sign in with IAM (each agent's role gets `rds-db:connect` for the tenant's database
user and `elasticache:Connect` for the tenant's Redis user), and may use only the tenant's prefix of the
agent data bucket.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from components.base.aws import IRSA_ANNOTATION, AwsConfig, irsa_trust, policy_json
from components.base.kubernetes_object import KubernetesObject
from components.base.rds_ca import CA_PATH
from components.base.secrets import AgentSecretKeys
from conventions.identifiers import iam_role_name
from conventions.labels import MANAGED_BY, MANAGER, TENANT_ID

ESO_API = "external-secrets.io/v1"
STORE_NAME = "aws-secrets-manager"
READER_ACCOUNT = "secrets-reader"
REFRESH = "1h"


class DatabaseLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    host: Any
    port: int
    database: str
    user: str
    resource_id: Any = Field(description="DbiResourceId: the `rds-db:connect` ARN names the instance by it.")


class RedisLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    host: Any
    port: int
    user: str
    user_arn: Any
    group_arn: Any
    replication_group_id: Any = Field(description="pulumi.Input[str]: what an ElastiCache IAM token is signed for.")


class TenantDataConfig(AwsConfig):
    tenant_id: str
    namespace: str
    account_id: Any
    kms_key_arn: Any
    secret_prefix: str = Field(description="Secrets Manager name prefix, e.g. `agent-platform/prod/acme/`.")
    secret_name: str
    secret_keys: AgentSecretKeys
    oidc_provider_arn: Any
    oidc_issuer: Any
    database: DatabaseLogin
    redis: RedisLogin
    data_bucket_arn: Any
    agent_role_names: dict[str, Any] = Field(default_factory=dict)
    recovery_window_days: int = Field(7, ge=7, le=30)
    replica_region: str | None = Field(None, description="Secrets Manager keeps a copy there for region loss.")
    replica_kms_key_arn: Any = None
    crd_installers: list[Any] = Field(
        default_factory=list, description="Releases installing External Secrets' CRDs; its objects wait for them."
    )

    @property
    def llm_keys(self) -> list[str]:
        return [self.secret_keys.anthropic_api_key, self.secret_keys.openai_key]


class TenantDataAccess(pulumi.ComponentResource):
    llm_secret_arns: dict[str, pulumi.Output[str]]
    reader_role_arn: pulumi.Output[str]
    database_url: pulumi.Output[str]
    redis_url: pulumi.Output[str]

    def __init__(self, name: str, config: TenantDataConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:TenantDataAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.llm_secret_arns = {
            key: aws.secretsmanager.Secret(
                f"{name}-{key}",
                name=f"{config.secret_prefix}{key}",
                description=f"{key} for tenant {config.tenant_id}; value put by operators, never by Pulumi",
                kms_key_id=config.kms_key_arn,
                recovery_window_in_days=config.recovery_window_days,
                replicas=[{"region": config.replica_region, "kms_key_id": config.replica_kms_key_arn}]
                if config.replica_region
                else None,
                tags=config.tags,
                opts=child,
            ).arn
            for key in config.llm_keys
        }
        reader = aws.iam.Role(
            f"{name}-secrets-reader",
            name=iam_role_name(f"{config.namespace}-{READER_ACCOUNT}"),
            assume_role_policy=irsa_trust(
                config.oidc_provider_arn, config.oidc_issuer, config.namespace, READER_ACCOUNT
            ),
            tags=config.tags,
            opts=child,
        )
        reader_policy = aws.iam.RolePolicy(
            f"{name}-secrets-reader-policy",
            role=reader.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        "Resource": list(self.llm_secret_arns.values()),
                    },
                    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [config.kms_key_arn]},
                ]
            ),
            opts=child,
        )
        self._grant_agents(name, config)

        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[reader_policy])
        account = KubernetesObject(
            f"{name}-reader-sa",
            api_version="v1",
            kind="ServiceAccount",
            metadata={
                "name": READER_ACCOUNT,
                "namespace": config.namespace,
                "labels": {TENANT_ID: config.tenant_id, MANAGED_BY: MANAGER},
                "annotations": {IRSA_ANNOTATION: reader.arn},
            },
            automountServiceAccountToken=False,
            opts=in_ns,
        )
        store = KubernetesObject(
            f"{name}-secret-store",
            api_version=ESO_API,
            kind="SecretStore",
            metadata={"name": STORE_NAME, "namespace": config.namespace},
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": config.region,
                        "auth": {"jwt": {"serviceAccountRef": {"name": READER_ACCOUNT}}},
                    }
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, *config.crd_installers]),
        )
        db, redis, keys = config.database, config.redis, config.secret_keys
        self.database_url = pulumi.Output.concat(
            "postgresql://",
            db.user,
            "@",
            db.host,
            ":",
            str(db.port),
            "/",
            db.database,
            f"?sslmode=verify-full&sslrootcert={CA_PATH}",
        )
        self.redis_url = pulumi.Output.concat("rediss://", redis.user, "@", redis.host, ":", str(redis.port), "/0")
        KubernetesObject(
            f"{name}-external-secret",
            api_version=ESO_API,
            kind="ExternalSecret",
            metadata={"name": config.secret_name, "namespace": config.namespace},
            spec={
                "refreshInterval": REFRESH,
                "secretStoreRef": {"name": STORE_NAME, "kind": "SecretStore"},
                "target": {
                    "name": config.secret_name,
                    "creationPolicy": "Owner",
                    "template": {
                        "engineVersion": "v2",
                        "type": "Opaque",
                        "data": {
                            keys.database_url: self.database_url,
                            keys.redis_url: self.redis_url,
                            keys.data_region: config.region,
                            keys.redis_replication_group: redis.replication_group_id,
                            **{key: "{{ ." + _template_var(key) + " }}" for key in config.llm_keys},
                        },
                    },
                },
                "data": [
                    {"secretKey": _template_var(key), "remoteRef": {"key": f"{config.secret_prefix}{key}"}}
                    for key in config.llm_keys
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[store, *config.crd_installers]),
        )
        self.reader_role_arn = reader.arn
        self.register_outputs(
            {
                "llm_secret_arns": self.llm_secret_arns,
                "reader_role_arn": self.reader_role_arn,
                "database_url": self.database_url,
                "redis_url": self.redis_url,
            }
        )

    def _grant_agents(self, name: str, config: TenantDataConfig) -> None:
        db, redis = config.database, config.redis
        db_user_arn = pulumi.Output.all(config.account_id, db.resource_id).apply(
            lambda v: f"arn:aws:rds-db:{config.region}:{v[0]}:dbuser:{v[1]}/{db.user}"
        )
        prefix = pulumi.Output.from_input(config.data_bucket_arn).apply(lambda arn: f"{arn}/{config.tenant_id}/*")
        document = policy_json(
            [
                {"Effect": "Allow", "Action": ["rds-db:connect"], "Resource": [db_user_arn]},
                {"Effect": "Allow", "Action": ["elasticache:Connect"], "Resource": [redis.group_arn, redis.user_arn]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": [prefix],
                },
                {
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [config.kms_key_arn],
                    "Condition": {"StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"}},
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [config.data_bucket_arn],
                    "Condition": {"StringLike": {"s3:prefix": [f"{config.tenant_id}/*"]}},
                },
            ]
        )
        for agent_id, role_name in sorted(config.agent_role_names.items()):
            aws.iam.RolePolicy(
                f"{name}-{agent_id}-data",
                name="data-access",
                role=role_name,
                policy=document,
                opts=pulumi.ResourceOptions(parent=self),
            )


def _template_var(key: str) -> str:
    """Go template field names cannot contain '-'."""
    return key.replace("-", "_")
