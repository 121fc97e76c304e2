"""Workload settings that cannot work are rejected before anything is registered, with exact messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from planning.rollout import exposed_tenants, outcome, plan_rollout
from settings import SettingsError, validate
from settings.agents import Agent
from settings.canary import CanaryPolicy, max_exposed
from tests.settings.test_settings import stack_raw


def errors_of(stack: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
    raw = copy.deepcopy(stack_raw(stack))
    change(raw)
    with pytest.raises(SettingsError) as caught:
        validate(stack, raw)
    return caught.value.lines


CASES = {
    "statefulset with an hpa on session pods without sticky routing": (
        "staging",
        lambda r: r["agents"][1].update(sticky_sessions=False),
        [
            "Pulumi.staging.yaml: agent-platform:agents[1].sticky_sessions: false with session_state 'persistent' "
            "and an HPA (scaling.enabled: true): scaling moves sessions between pods; set sticky_sessions: true "
            "(ClientIP affinity and an ingress cookie) or scaling.enabled: false"
        ],
    ),
    "weights not increasing": (
        "staging",
        lambda r: r.setdefault("canary", {}).update(weights=[5, 25, 20, 100]),
        [
            "Pulumi.staging.yaml: agent-platform:canary.weights: [5, 25, 20, 100] must be strictly increasing and "
            "end at 100 (a leading 0 is the shadow stage)"
        ],
    ),
    "grace period too short": (
        "prod",
        lambda r: r["agents"][0].update(termination_grace_period_seconds=40),
        [
            "Pulumi.prod.yaml: agent-platform:agents[0].termination_grace_period_seconds: 40 must be greater than "
            "graceful_shutdown_seconds (30) + prestop_delay_seconds (10) = 40"
        ],
    ),
    "limits x hpa maximum x tracks exceed the tenant quota": (
        "prod",
        lambda r: r["agents"][1].update(
            resources={"limits": {"cpu": "8", "memory": "4Gi"}}, scaling={"max_replicas": 7}
        ),
        [
            "Pulumi.prod.yaml: agent-platform:agents[1].resources.limits.cpu: 8 x 7 pods (HPA maximum) x 1 tracks "
            "= 56 exceeds tenant 'acme' (standard tier) ResourceQuota limits.cpu 50; lower the limit or "
            "scaling.max_replicas"
        ],
    ),
    "a canary track doubles the quota need": (
        "prod",
        lambda r: r["agents"][0].update(resources={"limits": {"cpu": "2500m", "memory": "2Gi"}}),
        [
            "Pulumi.prod.yaml: agent-platform:agents[0].resources.limits.cpu: "
            + (
                f"2.5 x 12 pods (HPA maximum) x 2 tracks = 60 exceeds tenant {tenant!r} (standard tier) "
                "ResourceQuota limits.cpu 50"
                if tier == "standard"
                else f"2.5 x 50 pods (HPA maximum) x 2 tracks = 250 exceeds tenant {tenant!r} (premium tier) "
                "ResourceQuota limits.cpu 200"
            )
            + "; lower the limit or scaling.max_replicas"
            for tenant, tier in [
                ("acme", "standard"),
                ("globex", "premium"),
                ("litware", "standard"),
                ("hooli", "premium"),
                ("stark", "premium"),
                ("wayne", "standard"),
                ("duff", "standard"),
            ]
        ],
    ),
    "replica-ratio split under an hpa": (
        "staging",
        lambda r: r["agents"][0].pop("ingress"),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].rollout.canary: without an ingress the canary weight is a "
            "replica ratio, which an HPA would overwrite; add agents[0].ingress or set scaling.enabled: false"
        ],
    ),
    "blue-green has two stages": (
        "staging",
        lambda r: r["agents"][2]["rollout"].update(stage=2),
        [
            "Pulumi.staging.yaml: agent-platform:agents[2].rollout.stage: 2 is not a blue-green stage; allowed: 0 "
            "(green smoke-checked and switched in) or 1 (green judged by the gate, then promoted and blue removed)"
        ],
    ),
    "the lifecycle api is never routed": (
        "staging",
        lambda r: r["agents"][0]["ingress"].update(paths=["/api/v1/agents", "/api/v1"]),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].ingress.paths[1]: '/api/v1' would route the lifecycle "
            "control API (/api/v1/lifecycle, /api/v1/status); list only the agent's public API paths, e.g. "
            "/api/v1/agents"
        ],
    ),
    "two tenants never share a host": (
        "staging",
        lambda r: r["agents"][0]["ingress"].update(hosts={"globex": "support-bot.acme.staging.agents.example.com"}),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].ingress: host 'support-bot.acme.staging.agents.example.com' "
            "for tenant 'globex' is already the host of agents[0] for tenant 'acme'; ingress-nginx would send one "
            "tenant's traffic to the other's pods. Give each tenant its own host (ingress.hosts.<tenant>)"
        ],
    ),
    "a host override names one of the agent's tenants": (
        "staging",
        lambda r: r["agents"][0]["ingress"].update(hosts={"umbrella": "bot.umbrella.example.com"}),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].ingress.hosts.umbrella: 'umbrella' is not one of the "
            "agent's tenants (acme, globex, litware, oscorp)"
        ],
    ),
    "one host for every tenant is refused": (
        "staging",
        lambda r: r["agents"][0].update(ingress={"host": "support-bot.staging.agents.example.com"}),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].ingress: host 'support-bot.staging.agents.example.com' "
            "would be shared by every tenant of the agent; set domain instead (each tenant's host is "
            "<agent id>.<tenant id>.<domain>) and hosts.<tenant id> for an exception"
        ],
    ),
    "more certificates than let's encrypt issues per registered domain": (
        "staging",
        lambda r: (
            r["tenants"].extend({"id": f"t{i}"} for i in range(47)),
            r["agents"][0]["tenants"].extend(f"t{i}" for i in range(47)),
        ),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].ingress: 54 tenant hosts under example.com need 54 new "
            "certificates, over Let's Encrypt's 50 per registered domain per week; use a wildcard certificate "
            "(DNS-01) in ingress.tls_secret"
        ],
    ),
    "credentials never come from config": (
        "dev",
        lambda r: r["agents"][0].update(env={"OPENAI_API_KEY": "x", "SEARCH_TOKEN": "y"}),
        [
            "Pulumi.dev.yaml: agent-platform:agents[0].env.OPENAI_API_KEY: is set by the platform; remove it "
            "(standard variables and secretKeyRef credentials)",
            "Pulumi.dev.yaml: agent-platform:agents[0].env.SEARCH_TOKEN: looks like a credential; secrets come only "
            "from the 'agent-secrets' Secret (External Secrets), never from stack config",
        ],
    ),
    "an automatic release with a stage in the stack file": (
        "staging",
        lambda r: r["agents"][0]["rollout"].update(progression="automatic"),
        [
            "Pulumi.staging.yaml: agent-platform:agents[0].rollout.stage: 1: with progression: automatic the stage "
            "lives in the engine's state (the rollout's RolloutState); remove `stage` and use a `promote` control "
            "to move on (docs/releasing.md)"
        ],
    ),
    "an automatic blue-green release": (
        "staging",
        lambda r: r["agents"][2]["rollout"].update(progression="automatic"),
        [
            "Pulumi.staging.yaml: agent-platform:agents[2].rollout.progression: automatic releases move canary "
            "stages; a blue-green rollout keeps progression: pull_request"
        ],
    ),
    "a release control for an agent without an automatic release": (
        "staging",
        lambda r: r.update(releases={"support-bot": {"action": "abort", "by": "alice", "at": "2026-01-05T09:00:00Z"}}),
        [
            "Pulumi.staging.yaml: agent-platform:releases.support-bot: no agent 'support-bot' with "
            "rollout.progression: automatic; controls act on automatic releases only (automatic: none)"
        ],
    ),
}


def test_an_automatic_release_with_a_control_is_valid() -> None:
    raw = copy.deepcopy(stack_raw("staging"))
    raw["agents"][0]["rollout"].pop("stage")
    raw["agents"][0]["rollout"]["progression"] = "automatic"
    raw["releases"] = {"support-bot": {"action": "promote", "by": "alice", "at": "2026-01-05T09:00:00Z", "stage": 1}}
    settings = validate("staging", raw)
    assert settings.releases["support-bot"].stage == 1


@pytest.mark.parametrize(("stack", "change", "expected"), list(CASES.values()), ids=list(CASES))
def test_impossible_workload_settings_give_exact_messages(
    stack: str, change: Callable[[dict[str, Any]], None], expected: list[str]
) -> None:
    assert errors_of(stack, change) == expected


def agent(tenants: list[str], **rollout: Any) -> Agent:
    return Agent.model_validate(
        {
            "id": "bot",
            "image": "registry.example.com/bot",
            "version": "1.0.0",
            "tenants": tenants,
            "owner": "team",
            "oncall_receiver": "oncall",
            "rollout": {"canary": {"version": "1.1.0"}, **rollout},
        }
    )


@pytest.mark.parametrize(("tenants", "pct", "cap"), [(7, 5.0, 1), (40, 5.0, 2), (3, 50.0, 1), (10, 30.0, 3)])
def test_prod_exposure_is_a_share_of_the_agents_tenants_and_at_least_one(tenants: int, pct: float, cap: int) -> None:
    a = agent([f"t{i}" for i in range(tenants)])
    assert max_exposed(tenants, pct) == cap
    exposed = exposed_tenants(a, "prod", CanaryPolicy(max_tenant_exposure_pct=pct), lambda t: True)
    assert len(exposed) == cap


def test_without_cohort_tenants_the_lowest_bucket_is_exposed_and_all_widens_it() -> None:
    from planning.feature_flags import cohort_bucket

    tenants = ["acme", "globex", "litware", "hooli"]
    lowest = min(tenants, key=cohort_bucket)
    assert exposed_tenants(agent(tenants), "staging", CanaryPolicy(), lambda t: False) == (lowest,)
    assert exposed_tenants(agent(tenants, exposure="all"), "prod", CanaryPolicy(), lambda t: False) == tuple(tenants)


@pytest.mark.parametrize(
    ("verdict", "policy", "weight", "rolled_back"),
    [("pass", "rollback", 50, False), ("fail", "rollback", 0, True)],
)
def test_outcome_of_a_deciding_gate(verdict: str, policy: str, weight: int, rolled_back: bool) -> None:
    plan = plan_rollout(agent(["a"], stage=2, policy=policy), "prod", CanaryPolicy(), lambda t: True)
    result = outcome(plan, verdict)
    assert (result.weight, result.rolled_back) == (weight, rolled_back)


def test_the_settings_reference_says_when_a_canary_needs_an_ingress() -> None:
    """What `canary_split_needs_ingress_or_fixed_replicas` refuses at render time is in the reference row."""
    from settings.reference import generated_block

    (row,) = [line for line in generated_block().splitlines() if line.startswith("| `agents[].rollout.canary` |")]
    assert "Without `ingress`" in row and "`scaling.enabled: false`" in row


def test_a_checklist_override_under_a_misspelt_agent_id_is_refused() -> None:
    """`gates.ga.checklists` is keyed by agent id; an unknown key is an override that never applies."""

    def misspelt(raw: dict[str, Any]) -> None:
        raw.setdefault("gates", {}).setdefault("ga", {})["checklists"] = {
            "research-assistent": {"require": ["slo_defined"]}
        }

    assert errors_of("staging", misspelt) == [
        "Pulumi.staging.yaml: agent-platform:gates.ga.checklists.research-assistent: no agent 'research-assistent', "
        "so this checklist applies to nothing; did you mean 'research-assistant'? use an agent id (agents: "
        "support-bot, invoice-extractor, research-assistant)"
    ]
