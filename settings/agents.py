"""One agent: its image, resources, scaling, placement, ownership and rollout state."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from settings.base import DnsLabel, Settings
from settings.formats import (
    Cron,
    Digest,
    EnvName,
    Hostname,
    ImageReference,
    ImageRepository,
    ImageTag,
    NonEmpty,
    ObjectName,
    matching,
)
from settings.quantity import Quantity

LifecycleStage = Literal["feature_flag", "canary", "beta", "production_rollout", "ga"]
Strategy = Literal["canary", "blue_green"]
SessionState = Literal["stateless", "persistent"]


class CpuMemoryPair(Settings):
    cpu: Quantity
    memory: Quantity


# What an agent gets when its settings leave them out; the workloads apply them, the checks compare them.
DEFAULT_REPLICAS: dict[str, int] = {"dev": 1, "staging": 2, "prod": 3}
"""The HPA's minimum (or the fixed replica count) per environment."""
DEFAULT_RESOURCES: dict[str, tuple[CpuMemoryPair, CpuMemoryPair]] = {
    "Deployment": (CpuMemoryPair(cpu="500m", memory="512Mi"), CpuMemoryPair(cpu="2000m", memory="2Gi")),
    "StatefulSet": (CpuMemoryPair(cpu="500m", memory="1Gi"), CpuMemoryPair(cpu="2", memory="4Gi")),
}
"""(requests, limits) per workload kind: stateless agents run as Deployments, persistent ones as StatefulSets."""


class Resources(Settings):
    requests: CpuMemoryPair | None = Field(None, description="Default 500m/512Mi (StatefulSet 500m/1Gi).")
    limits: CpuMemoryPair | None = Field(None, description="Default 2000m/2Gi (StatefulSet 2/4Gi).")


class Scaling(Settings):
    min_replicas: int | None = Field(None, ge=1, description="Default: 1 dev, 2 staging, 3 prod.")
    max_replicas: int | None = Field(None, ge=1, description="Default: the tier's max_replicas.")
    cpu_utilization: int = Field(70, ge=1, le=100)
    memory_utilization: int = Field(80, ge=1, le=100)
    requests_per_second: int | None = Field(None, gt=0, description="Custom metric http_requests_per_second target.")
    queue_depth: int | None = Field(None, gt=0, description="Custom metric queue_depth target.")
    enabled: bool = True


class Probe(Settings):
    path: str
    port: str = "lifecycle"
    initial_delay_seconds: int = Field(ge=0)
    period_seconds: int = Field(gt=0)
    timeout_seconds: int = Field(gt=0)
    failure_threshold: int = Field(gt=0)


class Probes(Settings):
    liveness: Probe = Probe(
        path="/health/live", initial_delay_seconds=30, period_seconds=10, timeout_seconds=5, failure_threshold=3
    )
    readiness: Probe = Probe(
        path="/health/ready", initial_delay_seconds=10, period_seconds=5, timeout_seconds=3, failure_threshold=3
    )
    startup: Probe = Probe(
        path="/health/live", initial_delay_seconds=0, period_seconds=10, timeout_seconds=3, failure_threshold=30
    )


class Ingress(Settings):
    """Public routing of one agent: every tenant gets its own host, so no two namespaces share a host and path."""

    domain: Hostname = Field(description="Base domain: a tenant's host is <agent id>.<tenant id>.<domain>.")
    hosts: dict[str, Hostname] = Field(
        default_factory=dict, description="Tenant id -> its own host, replacing <agent id>.<tenant id>.<domain>."
    )
    tls_secret: ObjectName | None = Field(
        None, description="Existing TLS secret in each tenant namespace; otherwise cert-manager issues one per host."
    )
    cluster_issuer: ObjectName = "letsencrypt-prod"
    paths: list[str] = Field(default_factory=lambda: ["/api/v1/agents", "/api/v1/sessions"])

    @model_validator(mode="before")
    @classmethod
    def _one_host_per_tenant(cls, data: Any) -> Any:
        if isinstance(data, dict) and "host" in data:
            raise ValueError(
                f"host {data['host']!r} would be shared by every tenant of the agent; set domain instead "
                "(each tenant's host is <agent id>.<tenant id>.<domain>) and hosts.<tenant id> for an exception"
            )
        return data

    def host(self, agent_id: str, tenant_id: str) -> str:
        return self.hosts.get(tenant_id) or f"{agent_id}.{tenant_id}.{self.domain}"


class ConfigBundle(Settings):
    """A versioned set of files an agent reads at start: skills, permission rules, sandbox profile, instructions.

    Mounted read-only from a ConfigMap named by its content hash, so a changed bundle is a new object (and a
    new pod template) and the old one stays for the track still running it.
    """

    version: Annotated[
        str, matching(r"[A-Za-z0-9][A-Za-z0-9.-]{0,19}", "a bundle version like 2026.1 (at most 20)")
    ] = Field(description="Shown in the release label.")
    files: dict[str, str] = Field(min_length=1, description="File name -> content, under /app/bundle.")

    @field_validator("files")
    @classmethod
    def _configmap_keys(cls, files: dict[str, str]) -> dict[str, str]:
        for name in files:
            if not re.fullmatch(r"[-._a-zA-Z0-9]{1,253}", name) or name in (".", ".."):
                raise ValueError(f"file name {name!r} is not a ConfigMap key; use letters, digits, '-', '_', '.'")
        return files

    @property
    def content_hash(self) -> str:
        """Ten hex digits of the SHA-256 of the files, names and contents, in name order."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(f"{len(name)}:{name}{len(self.files[name])}:{self.files[name]}".encode())
        return digest.hexdigest()[:10]


class Track(Settings):
    """What a track runs. A canary changes the image version, the model, the config bundle or env, alone or
    together; what it leaves out it runs as stable does."""

    version: ImageTag | None = Field(None, description="The image tag; default: the stable version.")
    image: ImageRepository | None = Field(None, description="Repository without tag; default: the agent's.")
    digest: Digest | None = None
    env: dict[EnvName, str] = Field(default_factory=dict)
    model: dict[EnvName, NonEmpty] = Field(
        default_factory=dict, description="Model settings over the agent's `model`, e.g. OPENAI_MODEL."
    )
    config_bundle: ConfigBundle | None = Field(None, description="Default: the agent's config bundle.")


class Rollout(Settings):
    """The agent's rollout state; each pull request that moves `stage` is one reviewable step."""

    strategy: Strategy = "canary"
    canary: Track | None = Field(
        None,
        description="The release under test, beside stable (docs/releasing.md). Without `ingress` (an internal "
        "agent) the canary weight is a replica ratio, which an HPA would overwrite: such an agent canaries only "
        "with `scaling.enabled: false`.",
    )
    stage: int = Field(
        0,
        ge=0,
        description="Canary: index into the canary policy's weights. Blue-green: 0 green switched in, 1 judged.",
    )
    exposure: Literal["cohort", "all"] = Field(
        "cohort",
        description="Tenants running the canary track: the canary cohort first (capped in prod), then all.",
    )
    rollback: bool = Field(False, description="Force the canary weight to 0 (set by the rollback workflow).")
    policy: Literal["rollback", "block"] | None = Field(None, description="Default: the stack's canary policy.")
    progression: Literal["pull_request", "automatic"] = Field(
        "pull_request",
        description="`pull_request`: each change of `stage` is one reviewed step. `automatic`: a new canary "
        "version starts a release that the gates move stage by stage at every `up` (the stage lives in the "
        "engine's state, `stage` stays 0); see docs/releasing.md.",
    )


class SyntheticRequest(Settings):
    """A fixed request the synthetic session and the blue-green smoke check send to the agent's API."""

    path: Annotated[str, matching(r"/[A-Za-z0-9/_.-]*", "an absolute URL path like /api/v1/sessions")] = (
        "/api/v1/sessions"
    )
    body: str = '{"input": "synthetic session: reply with OK", "synthetic": true}'
    timeout_seconds: int = Field(60, gt=0, le=600)


class SyntheticSession(Settings):
    enabled: bool | None = Field(None, description="Default: on in staging and prod.")
    schedule: Cron = "0 * * * *"
    request: SyntheticRequest = SyntheticRequest()
    image: ImageReference = "curlimages/curl:8.11.1"


class Agent(Settings):
    id: DnsLabel
    image: ImageRepository = Field(description="Repository without tag; `version` is the tag.")
    version: ImageTag
    digest: Digest | None = None
    tenants: list[str] = Field(min_length=1, description="Tenant ids this agent runs for (one workload each).")
    owner: NonEmpty
    oncall_receiver: NonEmpty = Field(description="Alertmanager receiver that pages for this agent.")
    lifecycle_stage: LifecycleStage = "production_rollout"
    session_state: SessionState = "stateless"
    sticky_sessions: bool | None = Field(
        None, description="ClientIP affinity and an ingress cookie; default on for persistent session state."
    )
    session_storage: Quantity = Field("10Gi", description="Volume claim per pod of a persistent-session agent.")
    update_partition: int = Field(0, ge=0, description="StatefulSet: pods below this ordinal keep the old version.")
    cache_size: Quantity = "1Gi"
    tmp_size: Quantity = Field("512Mi", description="Memory-backed TMPDIR/HOME.")
    automount_service_account_token: bool = Field(False, description="Only agents that call the Kubernetes API.")
    registry_url: str = "https://registry.greenlang.ai/agents/{agent_id}/{version}"
    promoted_at: (
        Annotated[str, matching(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "a UTC time like 2026-01-31T12:00:00Z")] | None
    ) = Field(
        None,
        description="When the stable version was promoted (copied from the rollout's output after clean-up).",
    )
    certified: bool = Field(False, description="Certified agents also get the 99.99% availability objective.")
    capabilities: list[NonEmpty] = Field(default_factory=list)
    replicas: int | None = Field(None, ge=1, description="Only used when scaling is disabled.")
    resources: Resources = Resources()
    scaling: Scaling = Scaling()
    probes: Probes = Probes()
    lifecycle_port: int = Field(8080, ge=1024, le=65535)
    graceful_shutdown_seconds: int = Field(30, ge=1)
    prestop_delay_seconds: int = Field(10, ge=0)
    termination_grace_period_seconds: int = Field(60, ge=1)
    env: dict[EnvName, str] = Field(default_factory=dict)
    model: dict[EnvName, NonEmpty] = Field(
        default_factory=dict, description="Model settings passed as env, e.g. OPENAI_MODEL."
    )
    config_bundle: ConfigBundle | None = Field(None, description="Files mounted read-only at /app/bundle.")
    ingress: Ingress | None = None
    rollout: Rollout = Rollout()
    synthetic_session: SyntheticSession = SyntheticSession()

    @property
    def persistent(self) -> bool:
        return self.session_state == "persistent"

    @property
    def workload_kind(self) -> str:
        return "StatefulSet" if self.persistent else "Deployment"

    def requests_and_limits(self) -> tuple[CpuMemoryPair, CpuMemoryPair]:
        """The container's requests and limits with the defaults of its workload kind filled in."""
        requests, limits = DEFAULT_RESOURCES[self.workload_kind]
        return self.resources.requests or requests, self.resources.limits or limits

    @property
    def sticky(self) -> bool:
        return self.persistent if self.sticky_sessions is None else self.sticky_sessions


Dimension = Literal["image", "model", "config", "env"]


def canary_image(agent: Agent, track: Track) -> tuple[str, str, str | None]:
    """(repository, tag, digest) of the canary: stable's where the track names none (its digest with its tag)."""
    image, tag = track.image or agent.image, track.version or agent.version
    same = (image, tag) == (agent.image, agent.version)
    return image, tag, track.digest or (agent.digest if same else None)


def canary_changes(agent: Agent, track: Track) -> dict[Dimension, str]:
    """What a canary track runs differently from stable, each with a short id of its new value.

    A model key (in the agent's or the track's `model`) is a model setting wherever it is set, `env`
    included; the image changes with its repository, tag or digest.
    """
    tag = track.version or agent.version
    stable_env = {**agent.env, **agent.model}
    env = {**stable_env, **track.model, **track.env}
    model_keys = sorted(set(agent.model) | set(track.model))
    bundle = track.config_bundle or agent.config_bundle
    changed: dict[Dimension, str] = {}
    if canary_image(agent, track) != (agent.image, agent.version, agent.digest):
        changed["image"] = tag
    model = {k: env[k] for k in model_keys}
    if model != {k: stable_env.get(k) for k in model_keys}:
        changed["model"] = _short_hash(model)
    if (bundle.content_hash if bundle else None) != (agent.config_bundle.content_hash if agent.config_bundle else None):
        changed["config"] = f"{bundle.version}.{bundle.content_hash[:6]}" if bundle else "none"
    rest = {k: v for k, v in env.items() if k not in model_keys}
    if rest != {k: v for k, v in stable_env.items() if k not in model_keys}:
        changed["env"] = _short_hash(rest)
    return changed


def _short_hash(values: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:6]
