"""The SLO gate's inputs, built once: `pulumi up` (CanaryRollout) and the gate CLI evaluate the same gate.

Pure: the plan's gate and releases, the tenant's place and what every gate of a stack shares go in; the
`SloGateArgs` whose `props()` are the provider's inputs come out. A field added here reaches both.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from gates.slo_gate import SloGateArgs
from planning.rollout import GatePlan, RolloutPlan
from settings.gates import AgentGateChecks, PrometheusConnection, SloGateCriteria
from settings.names import MetricLabels


def slo_gate_args(
    plan: RolloutPlan,
    gate: GatePlan,
    *,
    namespace: str,
    agent_id: str,
    tenant_id: str,
    stage_started_at: pulumi.Input[str],
    criteria: SloGateCriteria,
    agent_checks: AgentGateChecks,
    connection: PrometheusConnection,
    labels: MetricLabels,
    error_statuses: Sequence[str],
) -> SloGateArgs:
    """The gate promoting `plan`'s canary to `gate.stage` (usually `plan.gate`), on evidence since `stage_started_at`.

    `gate` is explicit because a release loop judges each stage in turn, not only the one the plan is at.
    """
    canary = plan.canary
    if canary is None:
        raise ValueError(f"the rollout plan of {agent_id}/{tenant_id} at stage {plan.stage} has no canary to gate")
    return SloGateArgs(
        namespace=namespace,
        agent_id=agent_id,
        tenant_id=tenant_id,
        stable_version=plan.stable.version,
        canary_version=canary.version,
        stage=gate.stage,
        weight=gate.weight,
        stage_started_at=stage_started_at,
        min_duration_seconds=gate.min_duration_seconds,
        max_duration_seconds=gate.max_duration_seconds,
        criteria=criteria,
        agent_checks=agent_checks,
        dimensions=canary.dimensions,
        policy=gate.policy,
        mode=gate.mode,
        error_statuses=tuple(error_statuses),
        labels=labels,
        connection=connection,
    )
