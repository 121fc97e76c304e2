"""DatabaseUsers: the Kubernetes Job that creates each tenant's database and IAM-authenticated user.

The Job reads the AWS-managed master secret at run time (an init container with the AWS CLI, through an
IRSA role that may read only those secrets), so the master password never passes through Pulumi. The
SQL is idempotent; the Job's name carries a hash of it, so a new tenant or user runs a new Job.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import BaseModel, ConfigDict, Field

from components.base.aws import IRSA_ANNOTATION, AwsConfig, irsa_trust, policy_json
from components.base.kubernetes_object import KubernetesObject
from components.base.network_policy import cidr_egress, default_deny, dns_egress, public_https_egress
from components.base.rds_ca import fetch_ca, rds_ca_bundle
from conventions.identifiers import BOOTSTRAP_TARGET_NAME_MAX
from conventions.labels import APP, MANAGED_BY, MANAGER, pod_security_labels

SERVICE_ACCOUNT = "db-bootstrap"
RUN_AS = 10001
"""Above the host's user range (CKV_K8S_40: UID >= 10000), so the Job shares no UID with a node account."""
FETCH = """set -eu
aws secretsmanager get-secret-value --region "$AWS_REGION" --secret-id "$MASTER_SECRET_ARN" \\
  --query SecretString --output text > /work/master.json
""" + fetch_ca("/work/rds-ca.pem")
# The RDS-generated password never contains '"', '/', '@' or spaces; JSON escapes a backslash as '\\\\'.
APPLY = """set -eu
export PGPASSWORD="$(sed -E 's/.*"password" *: *"([^"]*)".*/\\1/; s/\\\\\\\\/\\\\/g' /work/master.json)"
export PGUSER="$(sed -E 's/.*"username" *: *"([^"]*)".*/\\1/' /work/master.json)"
psql "host=$PGHOST port=$PGPORT dbname=postgres sslmode=verify-full sslrootcert=/work/rds-ca.pem" \\
  -v ON_ERROR_STOP=1 -f /sql/users.sql
"""


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    database: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    user: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")


class BootstrapTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    name: str = Field(pattern=rf"^[a-z0-9-]{{1,{BOOTSTRAP_TARGET_NAME_MAX}}}$")
    region: str
    host: Any
    port: int
    master_secret_arn: Any
    kms_key_arn: Any
    grants: list[Grant] = Field(min_length=1)
    depends_on: list[Any] = Field(default_factory=list, description="The database resource.")

    def sql(self) -> str:
        lines = []
        for g in self.grants:
            lines += [
                f"SELECT 'CREATE ROLE {g.user} LOGIN' WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_roles WHERE rolname = '{g.user}')\\gexec",
                f"GRANT rds_iam TO {g.user};",
                f"SELECT 'CREATE DATABASE {g.database} OWNER {g.user}' WHERE NOT EXISTS "
                f"(SELECT 1 FROM pg_database WHERE datname = '{g.database}')\\gexec",
                f"REVOKE ALL ON DATABASE {g.database} FROM PUBLIC;",
                f"GRANT ALL ON DATABASE {g.database} TO {g.user};",
            ]
        return "\n".join(lines) + "\n"


class DatabaseUsersConfig(AwsConfig):
    namespace: str
    database_cidrs: list[str] = Field(min_length=1, description="Data subnets of every target: 5432 only.")
    vpc_cidr: str
    aws_api_cidrs: list[str] = Field(default_factory=list, description="Interface VPC endpoint subnets (443).")
    role_name: str
    oidc_provider_arn: Any
    oidc_issuer: Any
    image: str
    aws_cli_image: str
    pod_security_version: str = Field(description="Kubernetes minor version the Pod Security labels pin.")
    targets: list[BootstrapTarget] = Field(min_length=1)


def _restricted_container(
    name: str, image: str, script: str, env: list[dict[str, Any]], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["/bin/sh", "-c", script],
        "env": env,
        "volumeMounts": mounts,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


class DatabaseUsers(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    job_names: list[str]

    def __init__(self, name: str, config: DatabaseUsersConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:DatabaseUsers", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            name=config.role_name,
            assume_role_policy=irsa_trust(
                config.oidc_provider_arn, config.oidc_issuer, config.namespace, SERVICE_ACCOUNT
            ),
            tags=config.tags,
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=policy_json(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue"],
                        "Resource": [t.master_secret_arn for t in config.targets],
                    },
                    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [t.kms_key_arn for t in config.targets]},
                ]
            ),
            opts=child,
        )
        namespace = KubernetesObject(
            f"{name}-ns",
            api_version="v1",
            kind="Namespace",
            metadata={
                "name": config.namespace,
                "labels": {MANAGED_BY: MANAGER, **pod_security_labels("restricted", config.pod_security_version)},
            },
            opts=child,
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        # The Job's role reads every database's master secret: deny all, then DNS, PostgreSQL on the data subnets
        # and public HTTPS (Secrets Manager, STS, the RDS CA bundle). Never the instance metadata endpoint.
        for policy_name, spec in {
            "default-deny-all": default_deny(),
            "allow-dns-egress": dns_egress(),
            "allow-postgres-egress": cidr_egress(config.database_cidrs, [5432]),
            "allow-https-egress": public_https_egress(config.vpc_cidr, config.aws_api_cidrs),
        }.items():
            KubernetesObject(
                f"{name}-netpol-{policy_name}",
                api_version="networking.k8s.io/v1",
                kind="NetworkPolicy",
                metadata={"name": policy_name, "namespace": config.namespace},
                spec=spec,
                opts=in_ns,
            )
        account = KubernetesObject(
            f"{name}-sa",
            api_version="v1",
            kind="ServiceAccount",
            metadata={
                "name": SERVICE_ACCOUNT,
                "namespace": config.namespace,
                "annotations": {IRSA_ANNOTATION: role.arn},
            },
            # The Job calls AWS through the IRSA webhook's own projected token, never the Kubernetes API.
            automountServiceAccountToken=False,
            opts=in_ns,
        )
        self.job_names = []
        for target in config.targets:
            sql = target.sql()
            digest = hashlib.sha256((sql + FETCH + APPLY + config.image + config.aws_cli_image).encode()).hexdigest()[
                :8
            ]
            script = KubernetesObject(
                f"{name}-{target.name}-sql",
                api_version="v1",
                kind="ConfigMap",
                metadata={"name": f"db-users-{target.name}-{digest}", "namespace": config.namespace},
                data={"users.sql": sql},
                immutable=True,
                opts=in_ns,
            )
            job_name = f"db-users-{target.name}-{digest}"
            env = [
                {"name": "AWS_REGION", "value": target.region},
                {"name": "MASTER_SECRET_ARN", "value": target.master_secret_arn},
                {"name": "RDS_CA_BUNDLE", "value": rds_ca_bundle(target.region)},
                {"name": "PGHOST", "value": target.host},
                {"name": "PGPORT", "value": str(target.port)},
                {"name": "HOME", "value": "/tmp"},
            ]
            work = [{"name": "work", "mountPath": "/work"}, {"name": "tmp", "mountPath": "/tmp"}]
            KubernetesObject(
                f"{name}-{target.name}-job",
                api_version="batch/v1",
                kind="Job",
                metadata={"name": job_name, "namespace": config.namespace, "labels": {APP: "db-users"}},
                spec={
                    "backoffLimit": 6,
                    "activeDeadlineSeconds": 1800,
                    "template": {
                        "metadata": {"labels": {APP: "db-users", "database": target.name}},
                        "spec": {
                            "serviceAccountName": SERVICE_ACCOUNT,
                            "automountServiceAccountToken": False,
                            "restartPolicy": "OnFailure",
                            "securityContext": {
                                "runAsNonRoot": True,
                                "runAsUser": RUN_AS,
                                "runAsGroup": RUN_AS,
                                "fsGroup": RUN_AS,
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "initContainers": [
                                _restricted_container("fetch-master-secret", config.aws_cli_image, FETCH, env, work)
                            ],
                            "containers": [
                                _restricted_container(
                                    "create-users",
                                    config.image,
                                    APPLY,
                                    env,
                                    [*work, {"name": "sql", "mountPath": "/sql"}],
                                )
                            ],
                            "volumes": [
                                {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                                {"name": "sql", "configMap": {"name": script.metadata.apply(lambda m: m["name"])}},
                            ],
                        },
                    },
                },
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[account, script, policy, *target.depends_on],
                    custom_timeouts=pulumi.CustomTimeouts(create="30m", update="30m"),
                ),
            )
            self.job_names.append(job_name)
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn, "job_names": self.job_names})
