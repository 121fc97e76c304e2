"""Settings validation: every rule, with the exact message an operator reads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import SettingsError, validate
from settings.secrets import secret_values
from settings.stack import StackSettings

ROOT = Path(__file__).resolve().parents[2]


def stack_raw(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("agent-platform:")}


def errors_of(stack: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        validate(stack, raw)
    return caught.value.lines


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_files_are_valid(stack: str) -> None:
    settings = validate(stack, stack_raw(stack))
    assert settings.environment == stack


def test_dev_is_small_and_prod_has_premium_tenants_in_the_eu() -> None:
    dev = validate("dev", stack_raw("dev"))
    assert (len(dev.tenants), len(dev.agents)) == (2, 2)
    prod = validate("prod", stack_raw("prod"))
    assert {t.tier for t in prod.tenants} == {"standard", "premium", "enterprise"}
    assert any(t.tier == "premium" and t.data_residency == "eu" for t in prod.tenants)


def mutate(stack: str, change: Any) -> dict[str, Any]:
    raw = copy.deepcopy(stack_raw(stack))
    change(raw)
    return raw


CASES = {
    "unknown tier": (
        "prod",
        lambda r: r["tenants"][2].update(tier="gold"),
        ["Pulumi.prod.yaml: agent-platform:tenants[2].tier: 'gold' is not one of standard, premium, enterprise"],
    ),
    "agent references unknown tenant": (
        "dev",
        lambda r: r["agents"][1].update(tenants=["acme", "initech"]),
        ["Pulumi.dev.yaml: agent-platform:agents[1].tenants[1]: unknown tenant 'initech' (defined: acme, globex)"],
    ),
    "duplicate tenant id": (
        "dev",
        lambda r: r["tenants"].append({"id": "acme"}),
        ["Pulumi.dev.yaml: agent-platform:tenants[2].id: duplicate id 'acme' (first at tenants[0])"],
    ),
    "duplicate agent id": (
        "dev",
        lambda r: r["agents"][1].update(id="support-bot"),
        ["Pulumi.dev.yaml: agent-platform:agents[1].id: duplicate id 'support-bot' (first at agents[0])"],
    ),
    "namespace over 63 characters": (
        "staging",
        lambda r: r["tenants"].append({"id": "a" * 60}),
        [
            f"Pulumi.staging.yaml: agent-platform:tenants[5].id: namespace '{'a' * 60}-staging' is 68 characters; "
            "at most 63 are allowed, shorten the id",
            f"Pulumi.staging.yaml: agent-platform:tenants[5].id: its PostgreSQL database and user 'tenant_{'a' * 60}' "
            "are 67 characters; PostgreSQL allows at most 63: shorten the id to 56 characters",
            f"Pulumi.staging.yaml: agent-platform:tenants[5].id: its ElastiCache user id '{'a' * 60}-staging' is 68 "
            "characters; ElastiCache allows at most 40: shorten the id to 32 characters",
        ],
    ),
    "tenant id not DNS-1123": (
        "dev",
        lambda r: r["tenants"][0].update(id="Team_A"),
        [
            "Pulumi.dev.yaml: agent-platform:tenants[0].id: 'Team_A' is not a DNS-1123 label (lower-case letters, "
            "digits and '-', starting and ending with a letter or digit)"
        ],
    ),
    "canary weights not increasing": (
        "dev",
        lambda r: r.update(canary={"weights": [5, 50, 25, 100]}),
        [
            "Pulumi.dev.yaml: agent-platform:canary.weights: [5, 50, 25, 100] must be strictly increasing "
            "and end at 100 (a leading 0 is the shadow stage)"
        ],
    ),
    "canary weights not ending at 100": (
        "dev",
        lambda r: r.update(canary={"weights": [5, 25, 50], "min_durations": ["10m", "20m", "30m"]}),
        [
            "Pulumi.dev.yaml: agent-platform:canary.weights: [5, 25, 50] must be strictly increasing "
            "and end at 100 (a leading 0 is the shadow stage)"
        ],
    ),
    "widening waves not ending at 100": (
        "dev",
        lambda r: r.update(canary={"widening": {"waves": [20, 50]}}),
        [
            "Pulumi.dev.yaml: agent-platform:canary.widening.waves: [20.0, 50.0] must be strictly increasing shares "
            "of the other tenants above 0 and end at 100 ([] keeps them on stable until `version` changes)"
        ],
    ),
    "widening stage without its minimum": (
        "dev",
        lambda r: r.update(canary={"widening": {"weights": [10, 50, 100]}}),
        [
            "Pulumi.dev.yaml: agent-platform:canary.widening.min_durations: has 1 entries; need one per stage "
            "below 100 ([10, 50])"
        ],
    ),
    "unknown field": (
        "dev",
        lambda r: r["tenants"][0].update(teir="premium"),
        [
            "Pulumi.dev.yaml: agent-platform:tenants[0].teir: unknown field "
            "(allowed: id, tier, data_residency, beta, feature_flags, admin_group)"
        ],
    ),
    "missing required field": (
        "dev",
        lambda r: r["agents"][0].pop("owner"),
        ["Pulumi.dev.yaml: agent-platform:agents[0].owner: is required but missing"],
    ),
    "bad region": (
        "dev",
        lambda r: r.update(primary_region="useast1"),
        [
            "Pulumi.dev.yaml: agent-platform:primary_region: 'useast1' is not an AWS region name "
            "(for example us-east-1, eu-west-1)"
        ],
    ),
    "add-on CRD group that is not an API group": (
        "prod",
        lambda r: r["cluster"].update(
            addons={
                "prometheus": {
                    "chart": "kube-prometheus-stack",
                    "repository": "https://prometheus-community.github.io/helm-charts",
                    "version": "70.4.2",
                    "namespace": "monitoring",
                    "crd_groups": ["Monitoring"],
                }
            }
        ),
        [
            "Pulumi.prod.yaml: agent-platform:cluster.addons.prometheus.crd_groups[0]: 'Monitoring' "
            "is not valid here; use an API group like velero.io"
        ],
    ),
}


@pytest.mark.parametrize("stack, change, expected", CASES.values(), ids=CASES.keys())
def test_invalid_settings_give_exact_messages(stack: str, change: Any, expected: list[str]) -> None:
    assert errors_of(stack, mutate(stack, change)) == expected


def test_every_problem_is_reported_not_only_the_first() -> None:
    def two_problems(raw: dict[str, Any]) -> None:
        raw["tenants"][0]["tier"] = "gold"
        raw["tenants"][1]["data_residency"] = "mars"

    lines = errors_of("dev", mutate("dev", two_problems))
    assert lines == [
        "Pulumi.dev.yaml: agent-platform:tenants[0].tier: 'gold' is not one of standard, premium, enterprise",
        "Pulumi.dev.yaml: agent-platform:tenants[1].data_residency: 'mars' is not one of us, eu",
    ]


def test_leading_zero_weight_is_the_shadow_stage() -> None:
    settings = validate("dev", mutate("dev", lambda r: r.update(canary={"weights": [0, 5, 25, 50, 100]}) or None))
    assert settings.canary.weights[0] == 0


def test_three_line_tenant_gets_tier_defaults() -> None:
    settings = validate("staging", mutate("staging", lambda r: r["tenants"].append({"id": "newco", "tier": "premium"})))
    assert settings.tier("premium").quota == settings.tiers["premium"].quota
    assert settings.namespace("newco") == "newco-staging"


def test_tier_override_merges_with_defaults() -> None:
    settings = validate("dev", mutate("dev", lambda r: r.update(tiers={"standard": {"quota": {"pods": 40}}})))
    quota = settings.tier("standard").quota
    assert quota.pods == 40
    assert quota.limits_cpu == validate("dev", stack_raw("dev")).tier("standard").quota.limits_cpu


def test_premium_prod_quota_is_the_architecture_notes_quota() -> None:
    hard = validate("prod", stack_raw("prod")).tier("premium").quota.hard()
    assert hard == {
        "requests.cpu": "100",
        "requests.memory": "200Gi",
        "limits.cpu": "200",
        "limits.memory": "400Gi",
        "pods": "500",
        "services": "50",
        "configmaps": "100",
        "secrets": "100",
        "persistentvolumeclaims": "50",
        "requests.storage": "1Ti",
    }


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stack_files_hold_no_plaintext_secret(stack: str) -> None:
    plaintext = [
        loc for loc, value in secret_values(stack_raw(stack)) if not (isinstance(value, dict) and "secure" in value)
    ]
    assert plaintext == []


def test_plaintext_secret_is_rejected() -> None:
    raw = mutate("dev", lambda r: r["cluster"].update(kubeconfig="apiVersion: v1\nclusters: []"))
    assert errors_of("dev", raw) == [
        "Pulumi.dev.yaml: agent-platform:cluster.kubeconfig: is a secret but is stored in plain text; remove it "
        "from the stack file and run `pulumi config set --secret --path 'agent-platform:cluster.kubeconfig' <value>`"
    ]
    assert validate("dev", raw, {"cluster"}).cluster.kubeconfig is not None


def test_secret_fields_are_marked_in_the_model() -> None:
    raw = {"cluster": {"kubeconfig": "x"}, "gates": {"prometheus": {"bearer_token": "y", "password": "z"}}}
    found = {loc for loc, _ in secret_values(raw, StackSettings)}
    assert found == {
        ("cluster", "kubeconfig"),
        ("gates", "prometheus", "bearer_token"),
        ("gates", "prometheus", "password"),
    }
