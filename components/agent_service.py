"""AgentService: one track of one agent in one tenant namespace, production-grade by default.

Owns the workload (Deployment, or StatefulSet for persistent session state with its headless Service),
the per-track Service the ingress and the ServiceMonitor use, the agent's config ConfigMap, and its HPA,
VPA (recommendations only) and PodDisruptionBudget. Traffic objects shared by the tracks (client Service,
Ingresses) belong to CanaryRollout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components.base.kubernetes_object import KubernetesObject
from components.base.outputs import lift, lift_all
from components.base.rds_ca import RdsCaFetch
from components.tenant_namespace import FLAGS_CONFIGMAP, FLAGS_FILE
from conventions.identifiers import agent_track_name
from conventions.labels import AGENT_ID, APP, INSTANCE, LIFECYCLE_STATE, MANAGED_BY, MANAGER, TENANT_ID, TRACK, VERSION
from conventions.pods import AGENT_DEPLOYMENT_MAX_SURGE, restricted_security_context
from conventions.ports import HTTP_PORT, METRICS_PORT
from planning.rollout import Release
from settings.agents import ConfigBundle, CpuMemoryPair, Probe, Probes
from settings.cluster import AgentNodes
from settings.names import SharedNames
from settings.tenancy import Environment

SERVICE_PORT = 80
UID = 10001
CONFIG_DIR = "/app/config"
CACHE_DIR = "/app/cache"
SESSION_DIR = "/app/data"
FLAGS_DIR = "/app/flags"  # the tenant's feature-flags ConfigMap; updated in place when the flags change
BUNDLE_DIR = "/app/bundle"  # the release's config bundle: an immutable ConfigMap named by its content hash
TMP_DIR = "/tmp/agent"  # the image's TMPDIR and HOME; a volume at /tmp would hide it
ROLLOUT_TIMEOUT = "300s"
VPA_API = "autoscaling.k8s.io/v1"
VPA_MIN = {"cpu": "250m", "memory": "256Mi"}
VPA_MAX = {"cpu": "4000m", "memory": "8Gi"}
SECRET_ENV = {
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    # What the runtime signs its IAM tokens for (docs/data-access.md): the data site's region, which is not the
    # pod's for EU tenants, and the Redis replication group the ElastiCache token names.
    "AGENT_DATA_REGION": "data_region",
    "REDIS_REPLICATION_GROUP_ID": "redis_replication_group",
    "ANTHROPIC_API_KEY": "anthropic_api_key",
    "OPENAI_API_KEY": "openai_key",
}
Track = Literal["stable", "canary"]


@dataclass(frozen=True)
class Scale:
    """Replica bounds of one track: an HPA between min and max, or a fixed count without one."""

    hpa: bool
    min_replicas: int
    max_replicas: int
    replicas: pulumi.Input[int] | None = None
    """Fixed replica count when there is no HPA (the replica-ratio canary split sets it per stage)."""


@dataclass(frozen=True)
class HpaTargets:
    """What the HPA scales on: average CPU and memory utilization (%), and optional per-pod custom metrics."""

    cpu_utilization: int
    memory_utilization: int
    requests_per_second: int | None = None
    queue_depth: int | None = None


@dataclass(frozen=True)
class AgentRuntime:
    """The agent as its pods run it, the same in every track and tenant: the container's contract (lifecycle
    port, probes, shutdown), its resources and volumes, and what the HPA scales on."""

    id: str
    """Names the workloads, Services and ServiceAccount (`<id>-<track>`, `<id>`)."""
    registry_url: str
    """Template with `{agent_id}` and `{version}`: where people look a release up."""
    session_state: Literal["stateless", "persistent"]
    """`persistent`: a StatefulSet with a volume claim per pod and a headless Service."""
    sticky: bool
    """Client-IP session affinity on the Services (and a cookie on the Ingress)."""
    lifecycle_port: int
    probes: Probes
    requests: CpuMemoryPair
    limits: CpuMemoryPair
    hpa_targets: HpaTargets
    graceful_shutdown_seconds: int
    prestop_delay_seconds: int
    termination_grace_period_seconds: int
    cache_size: str
    tmp_size: str
    session_storage: str
    """Volume claim per pod of a persistent agent."""
    update_partition: int = 0
    """StatefulSet: pods below this ordinal keep the old version."""
    automount_service_account_token: bool = False
    capabilities: tuple[str, ...] = ()

    @property
    def kind(self) -> Literal["Deployment", "StatefulSet"]:
        return "StatefulSet" if self.session_state == "persistent" else "Deployment"


@dataclass(frozen=True)
class AgentServiceArgs:
    runtime: AgentRuntime
    tenant_id: str
    namespace: str
    environment: Environment
    track: Track
    release: pulumi.Input[Release]
    scale: Scale
    lifecycle_state: str
    canary_percentage: float
    names: SharedNames
    nodes: AgentNodes
    promoted_at: pulumi.Input[str | None] = None
    """When this release was promoted (the gate's `passed_at`); workload metadata only, never the pod template."""
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing the VerticalPodAutoscaler CRD, when this stack installs it."""
    bundles: Sequence[ConfigBundle] = ()
    """Every config bundle this track may run in this `up` (stable: its own and, at promotion, the canary's)."""
    rds_ca: RdsCaFetch | None = None
    """Fetches the CA bundle `DATABASE_URL`'s `sslrootcert` names; None only where no pod reads a database."""

    @property
    def name(self) -> str:
        return agent_track_name(self.runtime.id, self.track)

    def bundle_name(self, bundle: ConfigBundle) -> str:
        return f"{self.name}-bundle-{bundle.content_hash}"

    @property
    def kind(self) -> Literal["Deployment", "StatefulSet"]:
        return self.runtime.kind

    def selector(self) -> dict[str, str]:
        """Labels that never change for this workload: no version, track or lifecycle state (immutable)."""
        return {
            APP: self.runtime.id,
            AGENT_ID: self.runtime.id,
            TENANT_ID: self.tenant_id,
            INSTANCE: self.name,
        }


class AgentService(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    url: pulumi.Output[str]
    workload_name: pulumi.Output[str]

    def __init__(self, name: str, args: AgentServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:AgentService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        release = args.release

        config = KubernetesObject(
            f"{name}-config",
            api_version="v1",
            kind="ConfigMap",
            metadata=self._meta(f"{args.name}-config", release),
            data=lift(release, lambda r: {"agent.json": self.config_json(r)}),
            opts=child,
        )
        bundles = [
            KubernetesObject(
                f"{name}-bundle-{bundle.content_hash}",
                api_version="v1",
                kind="ConfigMap",
                metadata={
                    "name": args.bundle_name(bundle),
                    "namespace": args.namespace,
                    "labels": {**args.selector(), MANAGED_BY: MANAGER},
                    "annotations": {"greenlang.io/config-bundle-version": bundle.version},
                },
                # A new bundle is a new name: pods never see files change under them, and the old bundle stays
                # for the pods still running it until the workload rolls.
                immutable=True,
                data=dict(bundle.files),
                opts=child,
            )
            for bundle in {b.content_hash: b for b in args.bundles}.values()
        ]
        service = KubernetesObject(
            f"{name}-service",
            api_version="v1",
            kind="Service",
            metadata=self._meta(args.name, release, track_label=True),
            spec=self._service_spec(),
            opts=child,
        )
        workload_opts = pulumi.ResourceOptions(
            parent=self,
            depends_on=[config, *bundles],
            custom_timeouts=pulumi.CustomTimeouts(create="5m", update="5m"),
            # The HPA owns the replica count: the spec omits it and no `up` may reset it.
            ignore_changes=["spec.replicas"] if args.scale.hpa else None,
        )
        spec = lift(release, self._workload_spec)
        if not args.scale.hpa:
            spec = lift_all([spec, args.scale.replicas], lambda v: {**v[0], "replicas": v[1]})
        metadata = lift_all([release, args.promoted_at], lambda v: self._workload_meta(*v))
        if args.kind == "StatefulSet":
            headless = KubernetesObject(
                f"{name}-headless",
                api_version="v1",
                kind="Service",
                # No `track` label: the ServiceMonitor selects per-track Services, and this one has no metrics port.
                metadata=self._meta(f"{args.name}-headless", release, track_label=False),
                spec={
                    "clusterIP": "None",
                    "selector": args.selector(),
                    "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}],
                },
                opts=child,
            )
            workload = KubernetesObject(
                f"{name}-workload",
                api_version="apps/v1",
                kind="StatefulSet",
                metadata=metadata,
                spec=spec,
                opts=pulumi.ResourceOptions.merge(workload_opts, pulumi.ResourceOptions(depends_on=[headless])),
            )
        else:
            workload = KubernetesObject(
                f"{name}-workload",
                api_version="apps/v1",
                kind="Deployment",
                metadata=metadata,
                spec=spec,
                opts=workload_opts,
            )

        target = {"apiVersion": "apps/v1", "kind": args.kind, "name": args.name}
        if args.scale.hpa:
            KubernetesObject(
                f"{name}-hpa",
                api_version="autoscaling/v2",
                kind="HorizontalPodAutoscaler",
                metadata=self._meta(args.name, release),
                spec=self.hpa_spec(target),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[workload]),
            )
        KubernetesObject(
            f"{name}-vpa",
            api_version=VPA_API,
            kind="VerticalPodAutoscaler",
            metadata=self._meta(args.name, release),
            spec={
                "targetRef": target,
                "updatePolicy": {"updateMode": "Off"},
                "resourcePolicy": {
                    "containerPolicies": [{"containerName": "agent", "minAllowed": VPA_MIN, "maxAllowed": VPA_MAX}]
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[workload, *args.crd_installers]),
        )
        KubernetesObject(
            f"{name}-pdb",
            api_version="policy/v1",
            kind="PodDisruptionBudget",
            metadata=self._meta(args.name, release),
            # One pod at a time: a single-replica dev workload still drains, prod keeps all but one serving.
            spec={"maxUnavailable": 1, "selector": {"matchLabels": args.selector()}},
            opts=child,
        )

        self.service_name = service.metadata.apply(lambda m: m["name"])
        self.url = self.service_name.apply(lambda s: f"http://{s}.{args.namespace}.svc.cluster.local")
        self.workload_name = workload.metadata.apply(lambda m: m["name"])
        self.workload = workload
        self.register_outputs({"service_name": self.service_name, "url": self.url, "workload_name": self.workload_name})

    def labels(self, release: Release, *, track_label: bool = True) -> dict[str, str]:
        a = self._args
        labels = {
            **a.selector(),
            VERSION: release.version,
            LIFECYCLE_STATE: a.lifecycle_state,
            MANAGED_BY: MANAGER,
        }
        return {**labels, TRACK: a.track} if track_label else labels

    def _meta(self, name: str, release: pulumi.Input[Release], *, track_label: bool = True) -> pulumi.Input[dict]:
        return lift(
            release,
            lambda r: {
                "name": name,
                "namespace": self._args.namespace,
                "labels": self.labels(r, track_label=track_label),
            },
        )

    def _workload_meta(self, release: Release, promoted_at: str | None) -> dict[str, Any]:
        a = self._args
        annotations = {
            "greenlang.io/agent-id": a.runtime.id,
            "greenlang.io/version": release.version,
            "greenlang.io/registry-url": a.runtime.registry_url.format(agent_id=a.runtime.id, version=release.tag),
            **_change_annotations(release),
        }
        if promoted_at:
            annotations["greenlang.io/promoted-at"] = promoted_at
        return {"name": a.name, "namespace": a.namespace, "labels": self.labels(release), "annotations": annotations}

    def config_json(self, release: Release) -> str:
        a = self._args
        document = {
            "agent_id": a.runtime.id,
            "version": release.version,
            "tenant_id": a.tenant_id,
            "environment": a.environment,
            "track": a.track,
            "capabilities": list(a.runtime.capabilities),
            "session_state": a.runtime.session_state,
            "settings": release.env,
            **({"config_bundle": _bundle_fields(release.bundle)} if release.bundle else {}),
        }
        return json.dumps(document, indent=2, sort_keys=True)

    def _service_spec(self) -> dict[str, Any]:
        a = self._args
        spec: dict[str, Any] = {
            "type": "ClusterIP",
            "selector": a.selector(),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"},
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
                {"name": "lifecycle", "port": a.runtime.lifecycle_port, "targetPort": "lifecycle", "protocol": "TCP"},
            ],
        }
        return {**spec, **session_affinity(a.runtime.sticky)}

    def _workload_spec(self, release: Release) -> dict[str, Any]:
        a = self._args
        spec: dict[str, Any] = {
            "selector": {"matchLabels": a.selector()},
            "revisionHistoryLimit": 10,
            "template": self.pod_template(release),
        }
        if a.kind == "StatefulSet":
            spec |= {
                "serviceName": f"{a.name}-headless",
                "updateStrategy": {
                    "type": "RollingUpdate",
                    # One pod at a time, the default: `maxUnavailable` needs the MaxUnavailableStatefulSet gate
                    # (alpha, off, before Kubernetes 1.35) and the API server drops it, a diff on every `up`.
                    "rollingUpdate": {"partition": a.runtime.update_partition},
                },
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "session-data", "labels": a.selector()},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": a.names.storage_class,
                            "resources": {"requests": {"storage": str(a.runtime.session_storage)}},
                        },
                    }
                ],
            }
        else:
            spec["strategy"] = {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": AGENT_DEPLOYMENT_MAX_SURGE, "maxUnavailable": 0},
            }
        return spec

    def pod_template(self, release: Release) -> dict[str, Any]:
        a = self._args
        config = self.config_json(release)
        annotations = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(METRICS_PORT),
            "prometheus.io/path": "/metrics",
            # A changed config must roll the pods: they read it once at start.
            "checksum/config": hashlib.sha256(config.encode()).hexdigest(),
        }
        volumes: list[dict[str, Any]] = [
            {"name": "config", "configMap": {"name": f"{a.name}-config"}},
            {"name": "feature-flags", "configMap": {"name": FLAGS_CONFIGMAP}},
            {"name": "cache", "emptyDir": {"sizeLimit": str(a.runtime.cache_size)}},
            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": str(a.runtime.tmp_size)}},
        ]
        if release.bundle:
            volumes.append({"name": "bundle", "configMap": {"name": a.bundle_name(release.bundle)}})
        if a.rds_ca:
            volumes.append(a.rds_ca.volume())
        spread_selector = {"matchLabels": a.selector()}
        hash_key = {"matchLabelKeys": ["pod-template-hash"]} if a.kind == "Deployment" else {}
        spec: dict[str, Any] = {
            "serviceAccountName": a.runtime.id,
            "automountServiceAccountToken": a.runtime.automount_service_account_token,
            "terminationGracePeriodSeconds": a.runtime.termination_grace_period_seconds,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": UID,
                "runAsGroup": UID,
                "fsGroup": UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "DoNotSchedule" if a.environment == "prod" else "ScheduleAnyway",
                    "labelSelector": spread_selector,
                    **hash_key,
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": spread_selector,
                    **hash_key,
                },
            ],
            "containers": [self.container(release)],
            "volumes": volumes,
        }
        if a.rds_ca:
            spec["initContainers"] = [a.rds_ca.init_container(UID)]
        if a.nodes.selector:
            spec["nodeSelector"] = dict(a.nodes.selector)
        if a.nodes.taint is not None:
            t = a.nodes.taint
            spec["tolerations"] = [{"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}]
        return {"metadata": {"labels": self.labels(release), "annotations": annotations}, "spec": spec}

    def container(self, release: Release) -> dict[str, Any]:
        a = self._args
        agent = a.runtime
        requests, limits = self.resources()
        mounts = [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "feature-flags", "mountPath": FLAGS_DIR, "readOnly": True},
            {"name": "cache", "mountPath": CACHE_DIR},
            {"name": "tmp", "mountPath": TMP_DIR},
        ]
        if a.kind == "StatefulSet":
            mounts.append({"name": "session-data", "mountPath": SESSION_DIR})
        if release.bundle:
            mounts.append({"name": "bundle", "mountPath": BUNDLE_DIR, "readOnly": True})
        if a.rds_ca:
            mounts.append(a.rds_ca.mount())
        container: dict[str, Any] = {
            "name": "agent",
            "image": release.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [
                {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
                {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                {"name": "lifecycle", "containerPort": agent.lifecycle_port, "protocol": "TCP"},
            ],
            "env": self.env(release),
            "resources": {"requests": _cpu_mem(requests), "limits": _cpu_mem(limits)},
            "livenessProbe": _probe(agent.probes.liveness),
            "readinessProbe": _probe(agent.probes.readiness),
            "startupProbe": _probe(agent.probes.startup),
            "securityContext": restricted_security_context(UID),
            "volumeMounts": mounts,
        }
        if agent.prestop_delay_seconds:
            # Endpoints are removed asynchronously; keep serving until the ingress has stopped sending.
            container["lifecycle"] = {"preStop": {"sleep": {"seconds": agent.prestop_delay_seconds}}}
        return container

    def env(self, release: Release) -> list[dict[str, Any]]:
        a = self._args
        agent = a.runtime
        standard = {
            "ENVIRONMENT": a.environment,
            "AGENT_ID": agent.id,
            "AGENT_VERSION": release.version,
            "AGENT_TRACK": a.track,
            "TENANT_ID": a.tenant_id,
            "AGENT_RUNTIME_CANARY_PERCENTAGE": f"{a.canary_percentage:g}",
            "AGENT_FEATURE_FLAGS_FILE": f"{FLAGS_DIR}/{FLAGS_FILE}",
            "HIVE_LIFECYCLE_ENABLED": "true",
            "HIVE_LIFECYCLE_HOST": "0.0.0.0",
            "HIVE_LIFECYCLE_PORT": str(agent.lifecycle_port),
            "HIVE_GRACEFUL_SHUTDOWN_TIMEOUT": str(agent.graceful_shutdown_seconds),
            "TMPDIR": TMP_DIR,
            "HOME": TMP_DIR,
        }
        if release.bundle:
            standard |= {
                "AGENT_CONFIG_BUNDLE_DIR": BUNDLE_DIR,
                "AGENT_CONFIG_BUNDLE_VERSION": release.bundle.version,
                "AGENT_CONFIG_BUNDLE_HASH": release.bundle.content_hash,
            }
        values = [{"name": k, "value": v} for k, v in {**release.env, **standard}.items()]
        keys = a.names.agent_secret_keys
        secrets = [
            {
                "name": env_name,
                "valueFrom": {"secretKeyRef": {"name": a.names.agent_secret, "key": getattr(keys, field)}},
            }
            for env_name, field in SECRET_ENV.items()
        ]
        return sorted(values, key=lambda e: e["name"]) + secrets

    def resources(self) -> tuple[CpuMemoryPair, CpuMemoryPair]:
        return self._args.runtime.requests, self._args.runtime.limits

    def hpa_spec(self, target: dict[str, str]) -> dict[str, Any]:
        a = self._args
        scaling = a.runtime.hpa_targets
        metrics: list[dict[str, Any]] = [
            _resource_metric("cpu", scaling.cpu_utilization),
            _resource_metric("memory", scaling.memory_utilization),
        ]
        for metric, value in (
            ("http_requests_per_second", scaling.requests_per_second),
            ("queue_depth", scaling.queue_depth),
        ):
            if value is not None:
                metrics.append(
                    {
                        "type": "Pods",
                        "pods": {
                            "metric": {"name": metric},
                            "target": {"type": "AverageValue", "averageValue": str(value)},
                        },
                    }
                )
        return {
            "scaleTargetRef": target,
            "minReplicas": a.scale.min_replicas,
            "maxReplicas": a.scale.max_replicas,
            "metrics": metrics,
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "selectPolicy": "Min",
                    "policies": [
                        {"type": "Percent", "value": 50, "periodSeconds": 60},
                        {"type": "Pods", "value": 5, "periodSeconds": 60},
                    ],
                },
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "selectPolicy": "Max",
                    "policies": [
                        {"type": "Percent", "value": 100, "periodSeconds": 30},
                        {"type": "Pods", "value": 10, "periodSeconds": 30},
                    ],
                },
            },
        }


def session_affinity(sticky: bool) -> dict[str, Any]:
    if not sticky:
        return {}
    return {"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 3600}}}


def _resource_metric(name: str, utilization: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


def _probe(probe: Probe) -> dict[str, Any]:
    return {
        "httpGet": {"path": probe.path, "port": "lifecycle"},
        "initialDelaySeconds": probe.initial_delay_seconds,
        "periodSeconds": probe.period_seconds,
        "timeoutSeconds": probe.timeout_seconds,
        "failureThreshold": probe.failure_threshold,
    }


def _cpu_mem(value: CpuMemoryPair) -> dict[str, str]:
    return {"cpu": str(value.cpu), "memory": str(value.memory)}


def _change_annotations(release: Release) -> dict[str, str]:
    """What a canary runs differently from stable (`image`, `model`, `config`, `env`), for people and tools.

    On the workload only: in the pod template it would roll running canary pods when it first appears."""
    return {"greenlang.io/canary-changes": ",".join(release.dimensions)} if release.dimensions else {}


def _bundle_fields(bundle: ConfigBundle) -> dict[str, Any]:
    return {"dir": BUNDLE_DIR, "version": bundle.version, "hash": bundle.content_hash, "files": sorted(bundle.files)}
