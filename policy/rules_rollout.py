"""Rollout rules for `prod`: a canary's blast radius, and that every agent serving there can be watched,
paged for and rolled back.

What runs comes from the rendered workloads (pod labels `agent-id`, `tenant-id`, `track`); what the team
declared (owner, on-call receiver, rollout stage, failure policy) from the stack's settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pulumi_policy import PolicyResource, ReportViolation, StackValidationArgs

from conventions.labels import AGENT_ID, TENANT_ID, TRACK
from conventions.resource_types import ROLLOUT_STATE_TYPE
from policy import stack_settings
from policy.resources import get, is_workload, items, kubernetes_kind, metadata, pod_labels, stack_of
from settings import StackSettings
from settings.agents import Agent
from settings.canary import max_exposed

PROMETHEUS_RULE = "PrometheusRule"
AGENT_LABEL = AGENT_ID
TENANT_LABEL = TENANT_ID
TRACK_LABEL = TRACK


@dataclass(frozen=True)
class AgentWorkload:
    agent_id: str
    tenant_id: str
    canary: bool
    urn: str


def _tenant(resource: PolicyResource, settings: StackSettings | None) -> str:
    labels = pod_labels(resource.resource_type, resource.props)
    namespace = str(get(metadata(resource.props), "namespace", default=""))
    if get(labels, TENANT_LABEL):
        return str(get(labels, TENANT_LABEL))
    if settings is not None:
        for tenant in settings.tenants:
            if tenant.namespace(settings.environment) == namespace:
                return tenant.id
    return namespace


def agent_workloads(resources: Iterable[PolicyResource], settings: StackSettings | None) -> list[AgentWorkload]:
    """Workloads that run an agent; a track scaled to zero replicas runs nothing."""
    found = []
    for resource in resources:
        if not is_workload(resource.resource_type):
            continue
        labels = pod_labels(resource.resource_type, resource.props)
        agent = get(labels, AGENT_LABEL)
        if not agent or get(resource.props, "spec", "replicas") == 0:
            continue
        canary = get(labels, TRACK_LABEL) == "canary"
        found.append(AgentWorkload(str(agent), _tenant(resource, settings), canary, resource.urn))
    return found


def _context(args: StackValidationArgs, report_violation: ReportViolation) -> tuple[StackSettings, str] | None:
    """The stack's settings when the stack is prod; None (after reporting why) when they cannot be read."""
    if not args.resources:
        return None
    stack = stack_of(args.resources[0].urn)
    try:
        settings = stack_settings.load(stack)
    except stack_settings.SettingsUnavailableError as error:
        if stack == "prod":
            report_violation(
                f"cannot read the settings of stack {stack}: {error}. Fix the stack file; rollout "
                "rules cannot be checked without it.",
                None,
            )
        return None
    return (settings, stack) if settings.environment == "prod" else None


def widened_tenants(resources: Iterable[PolicyResource], agent_id: str) -> set[str]:
    """Tenants of an automatic release's later waves: their RolloutState (`wave` >= 1) holds the canary at
    weight 0 until every release it waits for (`after`, the previous wave) has promoted."""
    found = set()
    for resource in resources:
        props = resource.props
        if resource.resource_type != ROLLOUT_STATE_TYPE or props.get("agent_id") != agent_id:
            continue
        wave = props.get("wave")
        if isinstance(wave, int | float) and wave >= 1 and props.get("after"):
            found.add(str(props.get("tenant_id")))
    return found


def canary_tenant_exposure(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    context = _context(args, report_violation)
    if context is None:
        return
    settings, _ = context
    agents = {agent.id: agent for agent in settings.agents}
    workloads = agent_workloads(args.resources, settings)
    last_stage = len(settings.canary.weights) - 1
    for agent_id in sorted({w.agent_id for w in workloads if w.canary}):
        # A later wave's canary serves only after the waves before it promoted: it is not the first cohort.
        widened = widened_tenants(args.resources, agent_id)
        canary_tenants = sorted(
            {w.tenant_id for w in workloads if w.agent_id == agent_id and w.canary and w.tenant_id not in widened}
        )
        agent = agents.get(agent_id)
        tenants = set(agent.tenants) if agent else {w.tenant_id for w in workloads if w.agent_id == agent_id}
        limit = max_exposed(len(tenants), settings.canary.max_tenant_exposure_pct)
        complete = agent is not None and agent.rollout.stage >= last_stage and not agent.rollout.rollback
        if len(canary_tenants) > limit and not complete:
            stage = agent.rollout.stage if agent else "?"
            report_violation(
                f"agent '{agent_id}' runs its canary in {len(canary_tenants)} of {len(tenants)} tenants "
                f"({', '.join(canary_tenants)}); at most {limit} "
                f"({settings.canary.max_tenant_exposure_pct:g}%, at least one) until its gated stages complete "
                f"(rollout.stage {stage} of {last_stage}). Keep the canary in its first cohort until the SLO gates "
                "have passed every stage there, then widen it.",
                next(w.urn for w in workloads if w.agent_id == agent_id and w.canary),
            )


def _mentions(rule_object: PolicyResource, agent_id: str, metric_label: str) -> bool:
    if get(metadata(rule_object.props), "labels", AGENT_LABEL) == agent_id:
        return True
    pattern = re.compile(rf'{re.escape(metric_label)}\s*=~?\s*"([^"]*\|)?{re.escape(agent_id)}(\|[^"]*)?"')
    for group in items(get(rule_object.props, "spec", "groups")):
        for rule in items(get(group, "rules")):
            if get(rule, "labels", metric_label) == agent_id or pattern.search(str(get(rule, "expr", default=""))):
                return True
    return False


def _has_alert(rule_object: PolicyResource) -> bool:
    groups = items(get(rule_object.props, "spec", "groups"))
    return any(get(rule, "alert") for group in groups for rule in items(get(group, "rules")))


@dataclass(frozen=True)
class ProdAgent:
    """An agent with a rendered workload in prod, as the per-agent rules see it."""

    agent_id: str
    agent: Agent | None
    """Its settings entry; None when the workload names an agent the stack file does not have."""
    urn: str
    """Where a violation is reported: the agent's first workload."""


def _prod_agents(
    args: StackValidationArgs, report_violation: ReportViolation
) -> tuple[StackSettings, str, list[ProdAgent]] | None:
    context = _context(args, report_violation)
    if context is None:
        return None
    settings, stack = context
    agents = {agent.id: agent for agent in settings.agents}
    workloads = agent_workloads(args.resources, settings)
    found = [
        ProdAgent(agent_id, agents.get(agent_id), next(w.urn for w in workloads if w.agent_id == agent_id))
        for agent_id in sorted({w.agent_id for w in workloads})
    ]
    return settings, stack, found


def agent_slo(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = _prod_agents(args, report_violation)
    if prod is None:
        return
    settings, _, agents = prod
    label = settings.names.metric_labels.agent_id
    rules = [r for r in args.resources if kubernetes_kind(r.resource_type) == PROMETHEUS_RULE]
    for entry in agents:
        mine = [r for r in rules if _mentions(r, entry.agent_id, label)]
        if not any(_has_alert(r) for r in mine):
            report_violation(
                f"agent '{entry.agent_id}' runs in prod without an SLO: no PrometheusRule with alerting rules for it "
                f'(label {AGENT_LABEL}={entry.agent_id} or rules on {label}="{entry.agent_id}"). Keep the agent in the '
                "settings' `agents` list so the observability component renders its SLO and burn-rate alerts.",
                entry.urn,
            )


def agent_rollback_policy(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = _prod_agents(args, report_violation)
    if prod is None:
        return
    settings, stack, agents = prod
    for entry in agents:
        agent = entry.agent
        policy = (agent.rollout.policy or settings.canary.policy) if agent else None
        if policy != "rollback":
            why = "is not in the stack's agents" if agent is None else f"fails a gate with policy {policy!r}"
            report_violation(
                f"agent '{entry.agent_id}' {why}: in prod a failed gate must roll the canary back. Set "
                f"agents[].rollout.policy (or canary.policy) to 'rollback' in Pulumi.{stack}.yaml.",
                entry.urn,
            )


def agent_oncall_owner(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    prod = _prod_agents(args, report_violation)
    if prod is None:
        return
    _, stack, agents = prod
    for entry in agents:
        missing = (
            ["owner", "oncall_receiver"]
            if entry.agent is None
            else [field for field in ("owner", "oncall_receiver") if not getattr(entry.agent, field).strip()]
        )
        if missing:
            report_violation(
                f"agent '{entry.agent_id}' runs in prod without {' and '.join(missing)}. Declare the owning team and "
                f"the Alertmanager receiver that pages it under agents[] in Pulumi.{stack}.yaml.",
                entry.urn,
            )
