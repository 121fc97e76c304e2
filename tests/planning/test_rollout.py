"""The rollout plan: which stage has a gate, for how long it judges, and how many tenants run the canary."""

from __future__ import annotations

from typing import Any

import pytest

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
