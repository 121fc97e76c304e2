"""Workloads of the stack: one CanaryRollout per agent per tenant, and the per-agent rollout outputs."""

from __future__ import annotations

from typing import Any

import pulumi

from components.agent_service import VPA_API, AgentRuntime, HpaTargets, Scale
from components.base.rds_ca import RdsCaFetch
from components.canary_rollout import AgentIngress, CanaryRollout, CanaryRolloutArgs, GateWiring
from components.synthetic_session import SyntheticProbe
from gates.ga_gate import GaReadinessGate, ga_spec
from planning.release import Control
from planning.rollout import plan_rollout
from settings.agents import Agent
from settings.stack import StackSettings
from stacks.data import data_region
from stacks.foundation import Foundation


def agent_scale(settings: StackSettings, agent: Agent, tenant_id: str) -> Scale:
    bounds = settings.replica_bounds(agent, tenant_id)
    if not bounds.hpa:
        return Scale(hpa=False, min_replicas=bounds.minimum, max_replicas=bounds.maximum, replicas=bounds.replicas)
    return Scale(hpa=True, min_replicas=bounds.minimum, max_replicas=bounds.maximum)


def agent_runtime(agent: Agent) -> AgentRuntime:
    """The agent's stack-file entry as its workloads run it, the same in every tenant."""
    requests, limits = agent.requests_and_limits()
    scaling = agent.scaling
    return AgentRuntime(
        id=agent.id,
        registry_url=agent.registry_url,
        session_state=agent.session_state,
        sticky=agent.sticky,
        lifecycle_port=agent.lifecycle_port,
        probes=agent.probes,
        requests=requests,
        limits=limits,
        hpa_targets=HpaTargets(
            cpu_utilization=scaling.cpu_utilization,
            memory_utilization=scaling.memory_utilization,
            requests_per_second=scaling.requests_per_second,
            queue_depth=scaling.queue_depth,
        ),
        graceful_shutdown_seconds=agent.graceful_shutdown_seconds,
        prestop_delay_seconds=agent.prestop_delay_seconds,
        termination_grace_period_seconds=agent.termination_grace_period_seconds,
        cache_size=str(agent.cache_size),
        tmp_size=str(agent.tmp_size),
        session_storage=str(agent.session_storage),
        update_partition=agent.update_partition,
        automount_service_account_token=agent.automount_service_account_token,
        capabilities=tuple(agent.capabilities),
    )


def synthetic_probe(agent: Agent) -> SyntheticProbe:
    session = agent.synthetic_session
    return SyntheticProbe(image=session.image, request=session.request, schedule=session.schedule)


def agent_ingress(agent: Agent, tenant_id: str) -> AgentIngress | None:
    ingress = agent.ingress
    if ingress is None:
        return None
    return AgentIngress(
        host=ingress.host(agent.id, tenant_id),
        paths=tuple(ingress.paths),
        cluster_issuer=ingress.cluster_issuer,
        tls_secret=ingress.tls_secret,
    )


def synthetic_session_on(settings: StackSettings, agent: Agent) -> bool:
    return settings.synthetic_sessions_on(agent)


def release_control(settings: StackSettings, agent_id: str) -> Control | None:
    c = settings.releases.get(agent_id)
    return None if c is None else Control(c.action, c.by, c.at, c.reason, c.stage)


def wave_releases(rollouts: dict[str, CanaryRollout]) -> pulumi.Output[dict[str, Any]]:
    """{tenant: {version, phase}} of a wave's releases, as the next wave's RolloutStates take them."""
    pairs = []
    for tenant_id, rollout in rollouts.items():
        state = rollout.release_state
        if state is None:
            raise ValueError(f"{tenant_id}: a wave's tenant has no release state for the next wave to wait for")
        pairs.append(pulumi.Output.all(tenant_id, state.version, state.phase))
    return pulumi.Output.all(*pairs).apply(lambda v: {t: {"version": ver, "phase": ph} for t, ver, ph in v})


def build_workloads(platform: Foundation) -> dict[str, Any]:
    s = platform.settings
    gates = GateWiring(
        criteria=s.gates.slo,
        agent_checks=s.gates.agent,
        connection=s.gates.prometheus,
        error_statuses=tuple(s.names.error_statuses),
        names=s.names,
        alertmanager_url=s.observability.alertmanager_url,
    )
    vpa_installers = platform.crd_installers(VPA_API)
    agents: dict[str, Any] = {}
    for agent in s.agents:
        runtime, probe = agent_runtime(agent), synthetic_probe(agent)
        plan = plan_rollout(agent, s.environment, s.canary, lambda t: platform.flags[t].canary_cohort)
        # An agent is `ga` in prod only behind a passed GA readiness gate: its workloads depend on the gate,
        # so a failing gate fails the `up` before any of them changes.
        ga_gate = (
            GaReadinessGate(f"{agent.id}-ga-gate", ga_spec(s, agent))
            if s.environment == "prod" and agent.lifecycle_stage == "ga"
            else None
        )
        per_tenant: dict[str, Any] = {}
        rollouts: dict[str, CanaryRollout] = {}
        # Wave by wave: a widened tenant's release waits for the releases of its previous wave in this `up`.
        waves = [set(plan.exposed), *(set(w) for w in plan.waves)]
        for tenant_id in sorted(agent.tenants, key=lambda t: next((i for i, w in enumerate(waves) if t in w), 0)):
            tenant = platform.tenants[tenant_id]
            tenant_plan = plan.for_tenant(tenant_id)
            namespace = s.namespace(tenant_id)
            rollout = CanaryRollout(
                f"{tenant_id}-{agent.id}",
                CanaryRolloutArgs(
                    runtime=runtime,
                    probe=probe,
                    lifecycle_stage=agent.lifecycle_stage,
                    tenant_id=tenant_id,
                    namespace=namespace,
                    environment=s.environment,
                    plan=tenant_plan,
                    scale=agent_scale(s, agent, tenant_id),
                    canary_percentage=s.feature_flags.canary_percentage,
                    names=s.names,
                    nodes=s.cluster.agent_nodes,
                    ingress_class=s.cluster.ingress_class,
                    rate_limits=s.tier(s.tenant(tenant_id).tier).rate_limits,
                    synthetic_session=synthetic_session_on(s, agent),
                    gates=gates,
                    crd_installers=vpa_installers,
                    ingress_controller=platform.ingress_controller(),
                    control=release_control(s, agent.id),
                    ingress=agent_ingress(agent, tenant_id),
                    promoted_at=agent.promoted_at,
                    policy=agent.rollout.policy,
                    wave_after=wave_releases({t: rollouts[t] for t in tenant_plan.after}) if tenant_plan.wave else None,
                    # The bootstrap Job's image already fetches the bundle: one more image pulled, none more to pin.
                    rds_ca=RdsCaFetch(data_region(s, s.tenant(tenant_id)), s.data.aws_cli_image),
                ),
                opts=pulumi.ResourceOptions(
                    provider=platform.k8s_provider, depends_on=[tenant, *([ga_gate] if ga_gate else [])]
                ),
            )
            rollouts[tenant_id] = rollout
            per_tenant[tenant_id] = {
                "namespace": namespace,
                "service_name": rollout.service_name,
                "url": rollout.url,
                "workload_name": rollout.workload_name,
                "weight": rollout.weight,
                "stable_version": rollout.stable_version,
                "canary_version": rollout.canary_version,
                "rolled_back": rollout.rolled_back,
                "promoted": rollout.promoted,
                "gate_verdict": rollout.gate_verdict,
                "release": rollout.release,
            }
        agents[agent.id] = {
            "strategy": plan.strategy,
            "stage": plan.stage,
            "stage_weight": plan.weight,
            "stable_version": plan.stable.version,
            "canary_version": plan.canary.version if plan.canary else None,
            "tenants_exposed": list(plan.exposed),
            "tenant_waves": [list(w) for w in plan.waves],
            "tenants": {t: per_tenant[t] for t in agent.tenants},
            "ga_gate_verdict": ga_gate.verdict if ga_gate else None,
        }
    return {"agents": agents}
