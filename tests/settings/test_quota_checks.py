"""A tenant namespace's LimitRange and ResourceQuota, checked before anything registers.

Kubernetes' rules, encoded here (kubernetes.io/docs/concepts/policy/resource-quotas/ and
/docs/concepts/policy/limit-range/): a pod or claim that would take the namespace past any `hard` value of its
ResourceQuota is refused with 403 "exceeded quota"; compute keys sum over the namespace's non-terminal pods,
`pods` counts them, `persistentvolumeclaims` and `requests.storage` count every claim in the namespace, and a
container or claim outside its LimitRange's min/max is refused. A StatefulSet with `whenScaled: Retain` keeps a
claim for every replica it ever ran; a Deployment with maxSurge 1 runs one extra pod per rolling update.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from settings import SettingsError, validate
from tests.settings.test_settings import stack_raw

Edit = Callable[[dict[str, Any]], None]


def agent(agent_id: str, **values: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        next(a for a in raw["agents"] if a["id"] == agent_id).update(values)

    return edit


def tier_quota(tier: str, **values: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw.setdefault("tiers", {}).setdefault(tier, {}).setdefault("quota", {}).update(values)

    return edit


def tier_limit_range(tier: str, **values: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw.setdefault("tiers", {}).setdefault(tier, {}).setdefault("limit_range", {}).update(values)

    return edit


def lines(stack: str, *edits: Edit) -> list[str]:
    raw = copy.deepcopy(stack_raw(stack))
    for edit in edits:
        edit(raw)
    with pytest.raises(SettingsError) as caught:
        validate(stack, raw)
    return caught.value.lines


P = "Pulumi.prod.yaml: agent-platform:"
S = "Pulumi.staging.yaml: agent-platform:"


def test_session_storage_past_the_claim_limit_is_one_line_per_tenant() -> None:
    """A claim above the LimitRange's PersistentVolumeClaim max is refused (and 5000Gi is also past every
    tenant's storage quota: still one line each)."""
    assert lines("prod", agent("invoice-extractor", session_storage="5000Gi")) == [
        f"{P}agents[1].session_storage: 5000Gi is outside the {tier} tier's claim bounds 1Gi..100Gi in tenant "
        f"{tenant!r}; the volume claim would be refused: use a size within them"
        for tenant, tier in (("acme", "standard"), ("stark", "premium"))
    ]


def test_the_claims_a_statefulset_keeps_must_fit_the_namespace_storage_quota() -> None:
    """prod acme (standard): requests.storage 256Gi. invoice-extractor scales to 6 replicas (tier maximum 12,
    its own max_replicas 6): 6 claims x 50Gi = 300Gi, although each 50Gi claim is within the LimitRange."""
    assert lines("prod", agent("invoice-extractor", session_storage="50Gi")) == [
        f"{P}agents[1].session_storage: tenant 'acme' (standard tier): its StatefulSets keep requests.storage 300Gi "
        "(invoice-extractor 300Gi), above its ResourceQuota 256Gi, and the cluster refuses what goes past it: "
        "lower agents[1].session_storage or raise tiers.standard.quota.requests_storage"
    ]


def test_a_second_track_keeps_claims_of_its_own() -> None:
    """A blue-green green track is a second StatefulSet: 2 x 6 claims of 20Gi = 240Gi fits 256Gi; with 25Gi it does
    not (300Gi), and 2 x 6 = 12 claims is the standard tier's whole persistentvolumeclaims quota."""
    canary = agent("invoice-extractor", rollout={"strategy": "blue_green", "stage": 0, "canary": {"version": "0.10.0"}})
    validate_ok = copy.deepcopy(stack_raw("prod"))
    canary(validate_ok)
    agent("invoice-extractor", session_storage="20Gi")(validate_ok)
    validate("prod", validate_ok)
    assert lines("prod", canary, agent("invoice-extractor", session_storage="25Gi")) == [
        f"{P}agents[1].session_storage: tenant 'acme' (standard tier): its StatefulSets keep requests.storage 300Gi "
        "(invoice-extractor 300Gi), above its ResourceQuota 256Gi, and the cluster refuses what goes past it: "
        "lower agents[1].session_storage or raise tiers.standard.quota.requests_storage"
    ]
    assert lines("prod", canary, tier_quota("standard", persistentvolumeclaims=11)) == [
        f"{P}agents[1].scaling.max_replicas: tenant 'acme' (standard tier): its StatefulSets keep "
        "persistentvolumeclaims 12 (invoice-extractor 12), above its ResourceQuota 11, and the cluster refuses what "
        "goes past it: lower agents[1].scaling.max_replicas or raise tiers.standard.quota.persistentvolumeclaims"
    ]


def test_the_agents_of_a_tenant_share_its_pod_quota() -> None:
    """staging acme: support-bot runs 2 tracks x 2 pods + 1 surge pod each (6), invoice-extractor 2 pods, the
    platform a Pushgateway (+1 surge) and one probe per agent (4): 12 pods, each agent alone within 10; litware
    (support-bot only) has 9."""
    assert lines("staging", tier_quota("standard", pods=10)) == [
        f"{S}agents[0].scaling.min_replicas: tenant 'acme' (standard tier): every deploy runs pods 12 (support-bot 6, "
        "invoice-extractor 2, platform pods 4), above its ResourceQuota 10, and the cluster refuses what goes past "
        "it: lower agents[0].scaling.min_replicas or raise tiers.standard.quota.pods"
    ]


def test_the_agents_of_a_tenant_share_its_cpu_request_quota() -> None:
    """staging acme requests.cpu 13 (standard): support-bot 6 pods x 1 = 6, invoice-extractor 2 x 3 = 6 and the
    platform's 4 x 100m: 12.4 cores, under 13; with invoice-extractor at 3.5 cores a pod, 13.4."""

    def sized(cpu: str) -> Edit:
        return agent(
            "invoice-extractor",
            resources={"requests": {"cpu": cpu, "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}},
        )

    bot = agent("support-bot", resources={"requests": {"cpu": "1", "memory": "512Mi"}})
    raw = copy.deepcopy(stack_raw("staging"))
    bot(raw)
    sized("3")(raw)
    validate("staging", raw)
    assert lines("staging", bot, sized("3500m")) == [
        f"{S}agents[1].resources.requests.cpu: tenant 'acme' (standard tier): every deploy runs requests.cpu 13400m "
        "(support-bot 6, invoice-extractor 7, platform pods 400m), above its ResourceQuota 13, and the cluster "
        "refuses what goes past it: lower agents[1].resources.requests.cpu or raise tiers.standard.quota.requests_cpu"
    ]


def test_a_limit_range_minimum_above_the_platform_pods_is_refused() -> None:
    assert lines("staging", tier_limit_range("premium", container_min={"cpu": "200m", "memory": "128Mi"})) == [
        f"{S}tiers.premium.limit_range.container_min.cpu: 200m is above the 100m of the platform's Pushgateway and "
        "synthetic-session containers in every premium tenant; the LimitRange would refuse them: lower it to at "
        "most 100m"
    ]


def test_the_lifecycle_port_is_not_the_http_port() -> None:
    assert lines("prod", agent("invoice-extractor", lifecycle_port=8000)) == [
        f"{P}agents[1].lifecycle_port: 8000 is the agent's HTTP port of the same container; use another port "
        "(default 8080; taken: 8000, 9090)"
    ]


def test_one_pod_past_the_whole_quota_is_one_line_per_agent_and_tenant() -> None:
    """A quota below one pod's limit: the tier's line and one line per agent and tenant, not a second one for
    the same agent's HPA maximum."""
    assert lines("staging", tier_quota("standard", limits_cpu="1")) == [
        f"{S}tiers.standard.quota.limits_cpu: 1 is less than one container's default limit 2000m: no pod would fit; "
        "raise it",
        f"{S}agents[0].resources.limits.cpu: 2000m is more than the whole ResourceQuota limits.cpu 1 of tenant "
        "'acme' (standard tier): lower it",
        f"{S}agents[0].resources.limits.cpu: 2000m is more than the whole ResourceQuota limits.cpu 1 of tenant "
        "'litware' (standard tier): lower it",
        f"{S}agents[1].resources.limits.cpu: 2 is more than the whole ResourceQuota limits.cpu 1 of tenant "
        "'acme' (standard tier): lower it",
    ]


def test_one_claim_past_the_storage_quota_is_named() -> None:
    """staging acme (standard): claims up to 100Gi, storage quota 128Gi; a tier allowing 200Gi claims still
    refuses one 150Gi claim by its quota."""
    assert lines(
        "staging",
        tier_limit_range("standard", pvc_max="200Gi"),
        agent("invoice-extractor", session_storage="150Gi"),
    ) == [
        f"{S}agents[1].session_storage: 150Gi is more than the whole storage quota 128Gi of tenant 'acme' "
        "(standard tier): lower it"
    ]
