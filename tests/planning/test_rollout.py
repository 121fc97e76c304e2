"""The rollout plan: which stage has a gate, for how long it judges, and how many tenants run the canary."""

from __future__ import annotations

from typing import Any

import pytest

from planning.feature_flags import cohort_bucket
from planning.rollout import plan_rollout
from settings.agents import Agent
from settings.canary import CanaryPolicy, max_exposed
from settings.slo import seconds


def agent(tenants: int = 1, **rollout: Any) -> Agent:
    return Agent.model_validate(
        {
            "id": "support-bot",
            "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot",
            "version": "1.4.2",
            "tenants": [f"t{i}" for i in range(tenants)],
            "owner": "team-support",
            "oncall_receiver": "support-oncall",
            "ingress": {"domain": "agents.example.com"},
            "rollout": {"canary": {"version": "1.5.0"}, **rollout},
        }
    )


SHADOWED = CanaryPolicy(weights=[0, 5, 25, 50, 100], shadow_duration="45m")


def test_the_stage_after_shadow_is_gated_for_the_shadow_duration() -> None:
    """Mirrored requests reach the canary pods in the shadow stage, so their metrics can be judged; without a
    gate the shadow period could last zero seconds."""
    gate = plan_rollout(agent(stage=1), "prod", SHADOWED, lambda t: True).gate
    assert gate is not None
    assert (gate.stage, gate.weight, gate.previous_stage) == (1, 5, 0)
    assert gate.min_duration_seconds == seconds("45m")
    assert gate.max_duration_seconds == seconds("45m") * SHADOWED.max_duration_factor
    assert gate.mode == "canary"


def test_the_stages_after_the_first_weighted_one_keep_their_own_minimum() -> None:
    gates = [plan_rollout(agent(stage=s), "prod", SHADOWED, lambda t: True).gate for s in (2, 3, 4)]
    assert [g.min_duration_seconds for g in gates if g] == [seconds(d) for d in SHADOWED.min_durations]


def test_the_shadow_stage_itself_has_no_gate() -> None:
    plan = plan_rollout(agent(stage=0), "prod", SHADOWED, lambda t: True)
    assert plan.shadow and plan.gate is None


def test_blue_green_watches_green_for_minutes_not_for_the_blue_keep_time() -> None:
    """Seed 001 (blue-green workflow, step 4): monitor green 5-10 minutes, then delete blue."""
    policy = CanaryPolicy()
    gate = plan_rollout(agent(stage=1, strategy="blue_green"), "staging", policy, lambda t: True).gate
    assert gate is not None and gate.mode == "blue_green"
    assert 5 * 60 <= gate.min_duration_seconds <= 10 * 60
    assert gate.min_duration_seconds == seconds(policy.blue_green_watch)


@pytest.mark.parametrize(("tenants", "pct", "expected"), [(7, 5, 1), (20, 5, 1), (40, 5, 2), (4, 50, 2), (3, 10, 1)])
def test_prod_exposes_the_capped_share_of_tenants_and_at_least_one(tenants: int, pct: float, expected: int) -> None:
    policy = CanaryPolicy(max_tenant_exposure_pct=pct)
    plan = plan_rollout(agent(tenants=tenants), "prod", policy, lambda t: True)
    assert len(plan.exposed) == expected == max_exposed(tenants, pct)


def test_the_tenants_outside_the_cohort_widen_in_waves_of_their_cumulative_share() -> None:
    """40 tenants, 5% cohort: 2 in the cohort, 38 others in waves of 20%, 50%, 100% of them (rounded up)."""
    a = agent(tenants=40, progression="automatic")
    plan = plan_rollout(a, "prod", CanaryPolicy(), lambda t: True)
    assert len(plan.exposed) == 2
    assert [len(w) for w in plan.waves] == [8, 11, 19]
    assert sorted(t for w in plan.waves for t in w) == sorted(set(a.tenants) - set(plan.exposed))
    assert sorted(plan.canary_tenants) == sorted(a.tenants)
    # In cohort-bucket order: a larger canary percentage would have taken the first wave's tenants first.
    order = [t for w in plan.waves for t in sorted(w, key=lambda t: (cohort_bucket(t), t))]
    assert order == sorted(order, key=lambda t: (cohort_bucket(t), t))


def test_each_widened_tenant_runs_the_widening_stages_after_its_previous_wave() -> None:
    plan = plan_rollout(agent(tenants=40, progression="automatic"), "prod", CanaryPolicy(), lambda t: True)
    cohort = plan.for_tenant(plan.exposed[0])
    assert (cohort.wave, cohort.after, [s.weight for s in cohort.stages]) == (0, (), [5, 25, 50, 100])
    first, second = plan.for_tenant(plan.waves[0][0]), plan.for_tenant(plan.waves[1][0])
    assert (first.wave, first.after) == (1, plan.exposed)
    assert (second.wave, second.after) == (2, plan.waves[0])
    assert [(s.weight, s.min_seconds) for s in second.stages] == [(25, seconds("15m")), (100, 0)]
    assert second.canary is not None and second.automatic


def test_small_agents_get_no_empty_wave_and_no_widening_when_turned_off_or_exposed_to_all() -> None:
    three = plan_rollout(agent(tenants=3, progression="automatic"), "prod", CanaryPolicy(), lambda t: True)
    assert [len(w) for w in three.waves] == [1, 1]  # 2 others: 20% -> 1, 50% -> 1 (no new one), 100% -> 2
    off = CanaryPolicy(widening={"waves": []})
    assert plan_rollout(agent(tenants=40, progression="automatic"), "prod", off, lambda t: True).waves == ()
    everyone = plan_rollout(
        agent(tenants=40, progression="automatic", exposure="all"), "prod", CanaryPolicy(), lambda t: True
    )
    assert everyone.waves == () and len(everyone.exposed) == 40
    manual = plan_rollout(agent(tenants=40), "prod", CanaryPolicy(), lambda t: True)
    outside = next(f"t{i}" for i in range(40) if f"t{i}" not in manual.exposed)
    assert manual.waves == () and manual.for_tenant(outside).canary is None
