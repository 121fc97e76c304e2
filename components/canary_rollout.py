"""CanaryRollout: one agent in one tenant namespace, moved from a stable to a canary release by stack config.

Owns the tracks (each an AgentService), the client-facing Service, the Ingresses that split traffic
(ingress-nginx canary weight, or mirroring in the shadow stage), the blue-green smoke check and switch,
the synthetic session, and the gate wiring: the StageClock of the stage the evidence comes from, and the
SloGate whose verdict decides what this `up` applies. Every object that changes with a promotion takes its
value from the gate's verdict, so a gate that holds leaves them untouched (`outcome` raises).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import pulumi

from components.agent_service import (
    SERVICE_PORT,
    AgentRuntime,
    AgentService,
    AgentServiceArgs,
    Scale,
    session_affinity,
)
from components.base.kubernetes_object import KubernetesObject
from components.base.outputs import lift, lift_all
from components.base.rds_ca import RdsCaFetch
from components.smoke_check import SmokeCheck, SmokeCheckArgs
from components.synthetic_session import SyntheticProbe, SyntheticSession, SyntheticSessionArgs
from conventions.identifiers import agent_track_name
from conventions.labels import AGENT_ID, APP, INSTANCE, MANAGED_BY, MANAGER, TENANT_ID
from gates.inputs import slo_gate_args
from gates.rollout_state import RolloutState, RolloutStateArgs
from gates.slo_gate import SloGate, SloGateArgs
from gates.stage_clock import StageClock, StageClockArgs
from planning.release import Control
from planning.rollout import GatePlan, Outcome, Release, RolloutPlan, outcome
from settings.agents import ConfigBundle
from settings.cluster import AgentNodes
from settings.gates import AgentGateChecks, PrometheusConnection, SloGateCriteria
from settings.names import SharedNames
from settings.tenancy import Environment, RateLimits

NGINX = "nginx.ingress.kubernetes.io"


@dataclass(frozen=True)
class GateWiring:
    """What every SloGate of the stack shares."""

    criteria: SloGateCriteria
    connection: PrometheusConnection
    error_statuses: tuple[str, ...]
    names: SharedNames
    agent_checks: AgentGateChecks = field(default_factory=AgentGateChecks)
    alertmanager_url: str | None = None
    """Where automatic releases post their events (routed to the agent's on-call receiver)."""


@dataclass(frozen=True)
class AgentIngress:
    """The agent's public entry in one tenant. ingress-nginx merges every Ingress of a host into one server
    across namespaces, so each tenant gets a host of its own."""

    host: str
    paths: tuple[str, ...]
    cluster_issuer: str
    """cert-manager ClusterIssuer of the certificate, unless `tls_secret` names one already there."""
    tls_secret: str | None = None


@dataclass(frozen=True)
class CanaryRolloutArgs:
    runtime: AgentRuntime
    probe: SyntheticProbe
    lifecycle_stage: str
    """The stable track's `lifecycle-state` label."""
    tenant_id: str
    namespace: str
    environment: Environment
    plan: RolloutPlan
    """The agent's plan for this tenant (`RolloutPlan.for_tenant`)."""
    scale: Scale
    canary_percentage: float
    names: SharedNames
    nodes: AgentNodes
    ingress_class: str
    rate_limits: RateLimits
    synthetic_session: bool
    gates: GateWiring
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing the VerticalPodAutoscaler CRD, when this stack installs it."""
    ingress_controller: Sequence[pulumi.Resource] = ()
    """The ingress controller's release, when this stack installs it: its admission webhook must answer first."""
    control: Control | None = None
    """An operator's action on an automatic release (promote, abort, retry, pause, resume)."""
    ingress: AgentIngress | None = None
    """None: no Ingress; callers in the cluster use the client Service."""
    promoted_at: str | None = None
    """When the stable release was promoted; kept on the stable workload until the next promotion."""
    policy: Literal["rollback", "block"] | None = None
    """What a failed gate does when the plan names no gate policy (default `rollback`)."""
    wave_after: pulumi.Input[dict[str, Any]] | None = None
    """A widened tenant (`plan.wave` >= 1): the previous wave's releases, {tenant: {version, phase}}."""
    rds_ca: RdsCaFetch | None = None
    """The tenant's data region's RDS CA bundle, fetched into every agent pod at start."""


RELEASE_OUTPUTS = ("stage", "weight", "phase", "verdict", "hold_reason", "stage_started_at", "evaluated_at", "history")


def release_outcome(plan: RolloutPlan, weight: float, phase: str) -> Outcome:
    """What the tracks do where an automatic release stands; `rollback: true` in the stack file still wins."""
    if plan.forced_rollback:
        return Outcome(0, False, True)
    return Outcome(int(weight), phase == "promoted", phase in {"failed", "aborted"})


def replica_split(total: int, weight: int) -> tuple[int, int]:
    """(stable, canary) replicas for the coarse split without an ingress; a weighted canary gets at least one."""
    canary = 0 if weight == 0 else min(total, max(1, math.floor(total * weight / 100 + 0.5)))
    return total - canary, canary


class CanaryRollout(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    url: pulumi.Output[str]
    workload_name: pulumi.Output[str]
    weight: pulumi.Output[int]
    promoted: pulumi.Output[bool]
    rolled_back: pulumi.Output[bool]
    stable_version: pulumi.Output[str]
    canary_version: pulumi.Output[str | None]
    gate_verdict: pulumi.Output[str | None]
    release: pulumi.Output[dict[str, Any] | None]

    def __init__(self, name: str, args: CanaryRolloutArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:CanaryRollout", name, None, opts)
        self._args = args
        self._name = name
        plan, agent = args.plan, args.runtime
        blue_green = plan.strategy == "blue_green"

        # An automatic release keeps its stage in a RolloutState and never raises: a gate that holds holds
        # this rollout's weight, and everything else in the `up` applies.
        release = self._release_state() if plan.automatic and plan.canary is not None else None
        self.release_state = release
        """Where an automatic release stands here: the next wave's tenants wait for it."""
        gate = None if release is not None else self._gate()
        result: pulumi.Input[Outcome]
        shadow: pulumi.Input[bool] = plan.shadow
        if release is not None:
            result = pulumi.Output.all(release.weight, release.phase).apply(lambda v: release_outcome(plan, v[0], v[1]))
            shadow = pulumi.Output.all(release.stage, release.phase).apply(
                lambda v: (
                    not plan.forced_rollback
                    and plan.stages[int(v[0])].weight == 0
                    and v[1] in {"progressing", "paused", "timed_out"}
                )
            )
        elif gate is not None:
            result = pulumi.Output.all(gate.verdict, gate.report).apply(lambda v: outcome(plan, v[0], v[1]))
        else:
            result = outcome(plan, None)
        # At the promoting stage the stable track takes the canary release once the gate passed; the canary
        # track goes in the same `up`, deleted only after stable has rolled out, so some track always serves.
        stable_release: pulumi.Input[Release] = plan.stable
        promoted_at: pulumi.Input[str | None] = args.promoted_at
        if plan.promotes and plan.canary is not None:
            # Stable runs what the canary ran (its release label too, so its series continue), as stable.
            canary = replace(plan.canary, dimensions=())
            stable_release = lift(result, lambda o: canary if o.promoted else plan.stable)
            passed = gate.passed_at if gate is not None else ""
            promoted_at = lift_all([result, passed], lambda v: (v[1] or None) if v[0].promoted else args.promoted_at)
        if release is not None and plan.canary is not None:
            # Promoted in the engine's state: stable takes the canary release; the stack file's `version`
            # catches up with the next release's change.
            canary = plan.canary
            stable_release = lift(result, lambda o: canary if o.promoted else plan.stable)
            promoted_at = lift_all(
                [result, release.history],
                lambda v: (
                    next((e["at"] for e in reversed(v[1]) if e["event"] == "promote"), None)
                    if v[0].promoted
                    else args.promoted_at
                ),
            )
        has_canary = plan.canary is not None and not plan.promotes
        ratio_split = has_canary and not blue_green and not args.scale.hpa and args.ingress is None

        stable_scale = args.scale
        canary_scale = args.scale
        if ratio_split:
            replicas = args.scale.replicas
            if replicas is not None and not isinstance(replicas, int):
                raise TypeError(f"{name}: a replica split needs a plain replica count, not an Output")
            total = replicas or args.scale.min_replicas
            split = lift(result, lambda o: replica_split(total, o.weight))
            stable_scale = replace(args.scale, replicas=lift(split, lambda s: s[0]))
            canary_scale = replace(args.scale, replicas=lift(split, lambda s: s[1]))

        stable_runs = [plan.stable, *([plan.canary] if plan.promotes and plan.canary else [])]
        self.stable = self._track(
            "stable", stable_release, stable_scale, args.lifecycle_stage, promoted_at, _bundles(stable_runs)
        )
        self.canary = (
            self._track("canary", plan.canary, canary_scale, "canary", None, _bundles([plan.canary]))
            if has_canary and plan.canary
            else None
        )

        selector = {APP: agent.id, AGENT_ID: agent.id, TENANT_ID: args.tenant_id}
        client_depends: list[pulumi.Resource] = [self.stable.workload]
        selector_out: pulumi.Input[dict[str, str]]
        if blue_green:
            selector_out, client_depends = self._blue_green_selector(selector, result, gate)
        elif ratio_split:
            selector_out = selector  # both tracks: the replica ratio is the weight
        else:
            # The Ingress carries the stage weight; kube-proxy would split by pod count, so in-cluster callers
            # stay on stable and the canary's traffic is only what the Ingress weight sends it.
            selector_out = {**selector, INSTANCE: agent_track_name(agent.id, "stable")}
        client = KubernetesObject(
            f"{name}-client",
            api_version="v1",
            kind="Service",
            metadata={"name": agent.id, "namespace": args.namespace, "labels": self._labels()},
            spec=lift(
                selector_out,
                lambda sel: {
                    "type": "ClusterIP",
                    "selector": sel,
                    "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"}],
                    **session_affinity(agent.sticky),
                },
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=client_depends),
        )
        self.service_name = client.metadata.apply(lambda m: m["name"])
        self.url = self.service_name.apply(lambda s: f"http://{s}.{args.namespace}.svc.cluster.local")

        stage_applied: pulumi.Resource | None = (
            client if blue_green else (self.canary.workload if self.canary else None)
        )
        if args.ingress is not None:
            backend = agent.id if blue_green else agent_track_name(agent.id, "stable")
            target = f"http://{agent_track_name(agent.id, 'canary')}.{args.namespace}.svc.cluster.local$request_uri"
            annotations = lift(shadow, lambda on: self._ingress_annotations(target if on else None))
            self._ingress(f"{name}-ingress", agent.id, backend, annotations, [client])
            if has_canary and not blue_green and not plan.shadow and self.canary is not None:
                weight_annotations = lift(
                    result,
                    lambda o: {
                        f"{NGINX}/canary": "true",
                        f"{NGINX}/canary-weight": str(o.weight),
                        f"{NGINX}/canary-weight-total": "100",
                    },
                )
                stage_applied = self._ingress(
                    f"{name}-canary-ingress",
                    agent_track_name(agent.id, "canary"),
                    agent_track_name(agent.id, "canary"),
                    weight_annotations,
                    [self.canary.workload],
                )
        if has_canary and not plan.forced_rollback and release is None:
            # Its inputs come through the verdict too: a gate that holds never starts the next stage's clock.
            stage = lift(result, lambda _: plan.stage) if gate is not None else plan.stage
            self._stage_clock(plan.stage, [gate] if gate is not None else [r for r in [stage_applied] if r], stage)

        SyntheticSession(
            f"{name}-synthetic",
            SyntheticSessionArgs(
                agent_id=agent.id,
                lifecycle_port=agent.lifecycle_port,
                probe=args.probe,
                tenant_id=args.tenant_id,
                namespace=args.namespace,
                service_url=self.url,
                names=args.names,
                schedule_session=args.synthetic_session,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[client]),
        )

        self.workload_name = self.stable.workload_name
        outcome_out = pulumi.Output.from_input(result)
        self.weight = outcome_out.apply(lambda o: o.weight)
        self.promoted = outcome_out.apply(lambda o: o.promoted)
        self.rolled_back = outcome_out.apply(lambda o: o.rolled_back)
        self.stable_version = pulumi.Output.from_input(stable_release).apply(lambda r: r.version)
        self.canary_version = pulumi.Output.from_input(plan.canary.version if has_canary and plan.canary else None)
        verdict_from = release if release is not None else gate
        self.gate_verdict = verdict_from.verdict if verdict_from is not None else pulumi.Output.from_input(None)
        self.release = (
            pulumi.Output.all(*(getattr(release, k) for k in RELEASE_OUTPUTS)).apply(
                lambda v: dict(zip(RELEASE_OUTPUTS, v, strict=True))
            )
            if release is not None
            else pulumi.Output.from_input(None)
        )
        self.register_outputs(
            {
                "service_name": self.service_name,
                "url": self.url,
                "workload_name": self.workload_name,
                "weight": self.weight,
                "promoted": self.promoted,
                "rolled_back": self.rolled_back,
                "stable_version": self.stable_version,
                "canary_version": self.canary_version,
                "gate_verdict": self.gate_verdict,
                "release": self.release,
            }
        )

    def _labels(self) -> dict[str, str]:
        a = self._args
        return {
            APP: a.runtime.id,
            AGENT_ID: a.runtime.id,
            TENANT_ID: a.tenant_id,
            MANAGED_BY: MANAGER,
        }

    def _track(
        self,
        track: str,
        release: pulumi.Input[Release],
        scale: Scale,
        lifecycle_state: str,
        promoted_at: pulumi.Input[str | None],
        bundles: tuple[ConfigBundle, ...] = (),
    ) -> AgentService:
        a = self._args
        return AgentService(
            f"{self._name}-{track}",
            AgentServiceArgs(
                runtime=a.runtime,
                tenant_id=a.tenant_id,
                namespace=a.namespace,
                environment=a.environment,
                track=track,  # type: ignore[arg-type]
                release=release,
                scale=scale,
                lifecycle_state=lifecycle_state,
                canary_percentage=a.canary_percentage,
                names=a.names,
                nodes=a.nodes,
                promoted_at=promoted_at,
                crd_installers=a.crd_installers,
                bundles=bundles,
                rds_ca=a.rds_ca,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _stage_clock(
        self, stage: int, depends_on: list[pulumi.Resource], stage_input: pulumi.Input[int] | None = None
    ) -> StageClock:
        a = self._args
        assert a.plan.canary is not None
        return StageClock(
            f"{self._name}-clock-{stage}",
            StageClockArgs(
                agent_id=a.runtime.id,
                stage=stage if stage_input is None else stage_input,
                canary_version=a.plan.canary.version,
                tenant_id=a.tenant_id,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

    def _release_state(self) -> RolloutState:
        a = self._args
        plan = a.plan
        assert plan.canary is not None
        if plan.wave and a.wave_after is None:
            raise ValueError(f"{self._name}: a widened tenant (wave {plan.wave}) needs its previous wave's releases")
        # The SLO gate's own inputs, so both kinds of release judge by one mapping; the window is the state's.
        template = self._gate_args(0, 0, "", 0, 1).props()
        return RolloutState(
            f"{self._name}-release",
            RolloutStateArgs(
                agent_id=a.runtime.id,
                tenant_id=a.tenant_id,
                canary_version=plan.canary.version,
                stages=plan.stages,
                gate=template,
                control=a.control,
                on_timeout=plan.on_timeout,
                alertmanager_url=a.gates.alertmanager_url,
                namespace=a.namespace,
                wave=plan.wave,
                after=a.wave_after if plan.wave else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _gate_args(
        self, stage: int, weight: int, started: pulumi.Input[str], minimum: int, maximum: int
    ) -> SloGateArgs:
        a = self._args
        plan, g = a.plan, a.plan.gate
        policy = g.policy if g is not None else (a.policy or "rollback")
        window = GatePlan(stage, weight, stage - 1, minimum, maximum, g.mode if g is not None else "canary", policy)
        return slo_gate_args(
            plan,
            window,
            namespace=a.namespace,
            agent_id=a.runtime.id,
            tenant_id=a.tenant_id,
            stage_started_at=started,
            criteria=a.gates.criteria,
            agent_checks=a.gates.agent_checks,
            connection=a.gates.connection,
            labels=a.gates.names.metric_labels,
            error_statuses=a.gates.error_statuses,
        )

    def _gate(self) -> SloGate | None:
        a = self._args
        plan, g = a.plan, a.plan.gate
        if g is None or plan.canary is None:
            return None
        # The previous stage's clock is the one its own `up` created; same name and inputs keep its time.
        clock = self._stage_clock(g.previous_stage, [])
        return SloGate(
            f"{self._name}-gate-{g.stage}",
            self._gate_args(g.stage, g.weight, clock.applied_at, g.min_duration_seconds, g.max_duration_seconds),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[clock]),
        )

    def _blue_green_selector(
        self, selector: dict[str, str], result: pulumi.Input[Outcome], gate: SloGate | None
    ) -> tuple[pulumi.Input[dict[str, str]], list[pulumi.Resource]]:
        """Stage 0 switches to green after its smoke check; stage 1 goes back to the stable workload after the
        gate, which by then runs green's release (pass) or still blue's (fail, rollback)."""
        a = self._args
        plan = a.plan
        stable = {**selector, INSTANCE: f"{a.runtime.id}-stable"}
        green = {**selector, INSTANCE: f"{a.runtime.id}-canary"}
        if self.canary is None or plan.canary is None:
            target = lift(result, lambda _: stable)
            return target, [self.stable.workload]
        if plan.forced_rollback:
            return stable, [self.stable.workload]
        smoke = SmokeCheck(
            f"{self._name}-smoke",
            SmokeCheckArgs(
                agent_id=a.runtime.id,
                lifecycle_port=a.runtime.lifecycle_port,
                probe=a.probe,
                tenant_id=a.tenant_id,
                namespace=a.namespace,
                version=plan.canary.version,
                service_host=self.canary.service_name.apply(lambda s: f"{s}.{a.namespace}.svc.cluster.local"),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.canary.workload]),
        )
        return green, [self.canary.workload, smoke]

    def _ingress_annotations(self, mirror: str | None) -> dict[str, str]:
        a = self._args
        ingress = a.ingress
        assert ingress is not None
        annotations = {
            f"{NGINX}/limit-rps": str(a.rate_limits.rps),
            f"{NGINX}/limit-connections": str(a.rate_limits.connections),
        }
        if ingress.tls_secret is None:
            annotations["cert-manager.io/cluster-issuer"] = ingress.cluster_issuer
        if a.runtime.sticky:
            # ingress-nginx sends traffic to endpoints directly: Service affinity does nothing for it.
            annotations |= {
                f"{NGINX}/affinity": "cookie",
                f"{NGINX}/session-cookie-name": f"{a.runtime.id}-affinity",
                f"{NGINX}/session-cookie-max-age": "3600",
            }
        if mirror:
            annotations[f"{NGINX}/mirror-target"] = mirror
        return annotations

    def _ingress(
        self,
        logical: str,
        object_name: str,
        backend: str,
        annotations: pulumi.Input[dict[str, str]],
        depends_on: list[pulumi.Resource],
    ) -> KubernetesObject:
        a = self._args
        ingress = a.ingress
        assert ingress is not None
        paths: list[dict[str, Any]] = [
            {
                "path": path,
                "pathType": "Prefix",
                "backend": {"service": {"name": backend, "port": {"name": "http"}}},
            }
            for path in ingress.paths
        ]
        host = ingress.host
        return KubernetesObject(
            logical,
            api_version="networking.k8s.io/v1",
            kind="Ingress",
            metadata={
                "name": object_name,
                "namespace": a.namespace,
                "labels": self._labels(),
                "annotations": annotations,
            },
            spec={
                "ingressClassName": a.ingress_class,
                "tls": [{"hosts": [host], "secretName": ingress.tls_secret or f"{a.runtime.id}-tls"}],
                "rules": [{"host": host, "http": {"paths": paths}}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*depends_on, *a.ingress_controller]),
        )


def _bundles(releases: list[Release]) -> tuple[ConfigBundle, ...]:
    return tuple(r.bundle for r in releases if r.bundle is not None)
