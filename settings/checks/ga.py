"""The production rollout checklist of prod `ga` agents, as far as the stack settings decide it.

The GA readiness gate (gates/ga_checks.py, `settings_findings`) fails the `up` on these items whatever the
evidence says: SLOs defined, a rollback plan, the strategy, the exposure cap and the shadow stage. Refused
here, naming the setting, so the render and `up` stop before anything registers or is written; the gate
stays the decision at `up` time. (`oncall_owner` needs a non-empty owner and receiver, which the agent's
types already require.)
"""

from __future__ import annotations

from collections.abc import Iterator

from settings.canary import max_exposed
from settings.errors import Problem
from settings.stack import StackSettings


def ga_checklist_holds(s: StackSettings) -> Iterator[Problem]:
    if s.environment != "prod":
        return
    for index, agent in enumerate(s.agents):
        if agent.lifecycle_stage != "ga":
            continue
        checklist = s.gates.ga.checklist_for(agent.id)
        where = f"gates.ga.checklists.{agent.id}" if agent.id in s.gates.ga.checklists else "gates.ga.checklist"
        whose = f"the rollout checklist of GA agent {agent.id!r}"
        mode = checklist.rollout_mode
        if "slo_defined" in checklist.require and not (s.slo.latency and s.slo.error_rate_objective > 0):
            yield Problem(
                "slo.latency",
                f"has no objectives, but {whose} requires SLOs ({where}.require: slo_defined); "
                "give at least one latency objective",
            )
        if "rollback_plan" in checklist.require:
            policy = agent.rollout.policy or s.canary.policy
            if policy != "rollback":
                path = f"agents[{index}].rollout.policy" if agent.rollout.policy else "canary.policy"
                yield Problem(
                    path,
                    f"{policy!r} but {whose} requires a rollback plan ({where}.require: rollback_plan); use rollback",
                )
        if mode.require_shadow_period and s.canary.weights[0] != 0:
            yield Problem(
                "canary.weights",
                f"{s.canary.weights} has no shadow stage, but {whose} requires one: start the weights with 0 "
                "(and set canary.shadow_duration)",
            )
        if agent.rollout.strategy != mode.initial:
            yield Problem(
                f"agents[{index}].rollout.strategy",
                f"{agent.rollout.strategy!r} but {whose} requires {mode.initial!r}; use {mode.initial} "
                f"(or change {where}.rollout_mode.initial)",
            )
        tenants = len(agent.tenants)
        planned = max_exposed(tenants, s.canary.max_tenant_exposure_pct)
        allowed = max_exposed(tenants, mode.max_tenant_exposure_pct)
        if planned > allowed:
            yield Problem(
                "canary.max_tenant_exposure_pct",
                f"{s.canary.max_tenant_exposure_pct:g}% runs the canary of GA agent {agent.id!r} in {planned} of "
                f"its {tenants} tenants before its gates pass, but {whose} allows {allowed} "
                f"({where}.rollout_mode.max_tenant_exposure_pct {mode.max_tenant_exposure_pct:g}%); lower it to "
                f"at most {mode.max_tenant_exposure_pct:g}",
            )


RULES = [ga_checklist_holds]
