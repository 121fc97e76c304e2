"""Where the evaluation loop of automatic releases runs: an engine that runs `up` on a schedule, in the cluster.

`kubernetes_operator` (the default engine for automatic releases): the program renders a Pulumi Kubernetes
Operator `Stack` object for its own stack, which re-runs `up` every `resync_seconds` from inside the
cluster, where Prometheus is, with IRSA credentials. `pulumi_deployments`: a Pulumi Cloud schedule does the
same (docs/releasing.md); nothing is rendered for it. `none`: `up` runs only when someone runs it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from settings.base import DnsLabel, Settings


class SecretKeyRef(Settings):
    name: DnsLabel
    key: str = Field(min_length=1)


class FluxSource(Settings):
    """A Flux source (GitRepository, OCIRepository, Bucket) the operator takes the program from."""

    api_version: str = "source.toolkit.fluxcd.io/v1"
    kind: Literal["GitRepository", "OCIRepository", "Bucket"] = "GitRepository"
    name: DnsLabel
    dir: str | None = None


class ReleaseLoop(Settings):
    engine: Literal["kubernetes_operator", "pulumi_deployments", "none"] = "none"
    namespace: DnsLabel = Field("pulumi-operator", description="Where the Stack object and its workspace run.")
    organization: str = Field("organization", min_length=1, description="`<org>` of the stack's `<org>/<stack>`.")
    backend: str | None = Field(None, description="State backend URL (e.g. s3://bucket); default Pulumi Cloud.")
    project_repo: str | None = Field(None, pattern=r"^(https://|ssh://|git@)\S+$")
    branch: str = "main"
    repo_dir: str | None = None
    flux_source: FluxSource | None = None
    resync_seconds: int = Field(
        300,
        ge=60,
        description="How often the operator runs `up` again at the same commit: one look per interval. The "
        "operator treats anything under 60 as 60.",
    )
    service_account: DnsLabel = "agent-platform-release"
    role_arn: str | None = Field(
        None, pattern=r"^arn:aws:iam::\d{12}:role/\S+$", description="IRSA role of the workspace's ServiceAccount."
    )
    passphrase_secret: SecretKeyRef | None = Field(None, description="PULUMI_CONFIG_PASSPHRASE (self-managed backend).")
    access_token_secret: SecretKeyRef | None = Field(None, description="PULUMI_ACCESS_TOKEN, for Pulumi Cloud.")
    git_auth_secret: DnsLabel | None = Field(None, description="Secret with the repository's access token.")

    @model_validator(mode="after")
    def _operator_needs_a_source(self) -> ReleaseLoop:
        if self.engine != "kubernetes_operator":
            return self
        if (self.project_repo is None) == (self.flux_source is None):
            raise ValueError("engine kubernetes_operator needs exactly one of project_repo and flux_source")
        if self.role_arn is None:
            raise ValueError("engine kubernetes_operator needs role_arn: the workspace's AWS identity (IRSA)")
        if (self.passphrase_secret is None) == (self.access_token_secret is None):
            raise ValueError(
                "engine kubernetes_operator needs exactly one of passphrase_secret (self-managed backend) and "
                "access_token_secret (Pulumi Cloud)"
            )
        return self

    def stack_object_name(self, stack: str) -> str:
        return f"agent-platform-{stack}"
