"""What the cluster enforces later, checked now: requests within limits, containers within their tenant's
LimitRange, one pod and a whole namespace within the ResourceQuota, volume claims within the LimitRange, HPA
bounds, ports."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from conventions.pods import AGENT_DEPLOYMENT_MAX_SURGE, SUPPORT_CONTAINER_RESOURCES, SUPPORT_DEPLOYMENT_SURGE
from conventions.ports import HTTP_PORT, METRICS_PORT
from settings.agents import DEFAULT_REPLICAS, Agent
from settings.errors import Problem
from settings.quantity import GIB, format_bytes, format_cpu, parse_quantity
from settings.stack import StackSettings
from settings.tenancy import LimitRange, TierName

RESOURCES = ("cpu", "memory")


def q(value: object) -> Decimal:
    return parse_quantity(str(value))


def limit_ranges_are_ordered(s: StackSettings) -> Iterator[Problem]:
    """min <= default request <= default limit <= max <= pod max, per resource (the API server refuses a
    LimitRange whose defaults fall outside its bounds)."""
    for tier_name, tier in s.tiers.items():
        lr = tier.limit_range
        chain = ("container_min", "container_default_request", "container_default", "container_max", "pod_max")
        for resource in RESOURCES:
            for low, high in itertools.pairwise(chain):
                low_value, high_value = getattr(getattr(lr, low), resource), getattr(getattr(lr, high), resource)
                if q(low_value) > q(high_value):
                    yield Problem(
                        f"tiers.{tier_name}.limit_range.{low}.{resource}",
                        f"{low_value} is above {high}.{resource} {high_value}; a LimitRange needs min <= default "
                        "request <= default <= max <= pod max: lower it or raise the other",
                    )
        if q(lr.pvc_min) > q(lr.pvc_max):
            yield Problem(
                f"tiers.{tier_name}.limit_range.pvc_max", f"{lr.pvc_max} is below pvc_min {lr.pvc_min}; raise it"
            )


def _tenants_of(s: StackSettings, agent: Agent) -> list[tuple[str, TierName]]:
    known = {t.id: t.tier for t in s.tenants}
    return [(tenant_id, known[tenant_id]) for tenant_id in agent.tenants if tenant_id in known]


def containers_fit_their_limit_range(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        requests, limits = agent.requests_and_limits()
        for resource in RESOURCES:
            request, limit = getattr(requests, resource), getattr(limits, resource)
            if q(request) > q(limit):
                yield Problem(
                    f"agents[{index}].resources.requests.{resource}",
                    f"{request} is above the limit {limit}; Kubernetes requires requests <= limits: lower it",
                )
        for tenant_id, tier_name in _tenants_of(s, agent):
            lr: LimitRange = s.tier(tier_name).limit_range
            for resource in RESOURCES:
                low, high = getattr(lr.container_min, resource), getattr(lr.container_max, resource)
                request, limit = getattr(requests, resource), getattr(limits, resource)
                if q(limit) > q(high):
                    yield Problem(
                        f"agents[{index}].resources.limits.{resource}",
                        f"{limit} is above the {tier_name} tier's LimitRange max {high} in tenant {tenant_id!r}; "
                        f"the pod would be refused: lower it to at most {high}",
                    )
                if q(request) < q(low):
                    yield Problem(
                        f"agents[{index}].resources.requests.{resource}",
                        f"{request} is below the {tier_name} tier's LimitRange min {low} in tenant {tenant_id!r}; "
                        f"the pod would be refused: raise it to at least {low}",
                    )


def platform_pods_fit_the_limit_range(s: StackSettings) -> Iterator[Problem]:
    """The tenant's Pushgateway and probe containers are sized by the platform, not by the tier."""
    for tier_name in sorted({t.tier for t in s.tenants}):
        lr = s.tier(tier_name).limit_range
        for resource in RESOURCES:
            low, size = getattr(lr.container_min, resource), SUPPORT_CONTAINER_RESOURCES[resource]
            if q(low) > q(size):
                yield Problem(
                    f"tiers.{tier_name}.limit_range.container_min.{resource}",
                    f"{low} is above the {size} of the platform's Pushgateway and synthetic-session containers in "
                    f"every {tier_name} tenant; the LimitRange would refuse them: lower it to at most {size}",
                )


def one_pod_fits_the_quota(s: StackSettings) -> Iterator[Problem]:
    """A quota smaller than one pod's requests or limits admits no pod at all."""
    for tier_name, tier in s.tiers.items():
        lr = tier.limit_range
        for resource in RESOURCES:
            for kind, default in (("requests", lr.container_default_request), ("limits", lr.container_default)):
                hard = getattr(tier.quota, f"{kind}_{resource}")
                if q(hard) < q(getattr(default, resource)):
                    yield Problem(
                        f"tiers.{tier_name}.quota.{kind}_{resource}",
                        f"{hard} is less than one container's default {kind[:-1]} {getattr(default, resource)}: no "
                        "pod would fit; raise it",
                    )
    for index, agent in enumerate(s.agents):
        requests, limits = agent.requests_and_limits()
        for tenant_id, tier_name in _tenants_of(s, agent):
            quota = s.tier(tier_name).quota
            for resource in RESOURCES:
                for kind, pair in (("requests", requests), ("limits", limits)):
                    if q(getattr(pair, resource)) > q(getattr(quota, f"{kind}_{resource}")):
                        yield Problem(
                            f"agents[{index}].resources.{kind}.{resource}",
                            f"{getattr(pair, resource)} is more than the whole ResourceQuota {kind}.{resource} "
                            f"{getattr(quota, f'{kind}_{resource}')} of tenant {tenant_id!r} ({tier_name} tier): "
                            "lower it",
                        )


def claims_fit_their_limit_range(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        if not agent.persistent:
            continue
        size = q(agent.session_storage)
        for tenant_id, tier_name in _tenants_of(s, agent):
            tier = s.tier(tier_name)
            low, high = tier.limit_range.pvc_min, tier.limit_range.pvc_max
            if not q(low) <= size <= q(high):
                yield Problem(
                    f"agents[{index}].session_storage",
                    f"{agent.session_storage} is outside the {tier_name} tier's claim bounds {low}..{high} in tenant "
                    f"{tenant_id!r}; the volume claim would be refused: use a size within them",
                )
            elif size > q(tier.quota.requests_storage):
                yield Problem(
                    f"agents[{index}].session_storage",
                    f"{agent.session_storage} is more than the whole storage quota {tier.quota.requests_storage} of "
                    f"tenant {tenant_id!r} ({tier_name} tier): lower it",
                )


# ResourceQuota keys a namespace's pods and claims count against, with the Quota field that sets each.
QUOTA_KEYS = (
    ("pods", "pods"),
    ("requests.cpu", "requests_cpu"),
    ("requests.memory", "requests_memory"),
    ("limits.cpu", "limits_cpu"),
    ("limits.memory", "limits_memory"),
    ("persistentvolumeclaims", "persistentvolumeclaims"),
    ("requests.storage", "requests_storage"),
)


@dataclass
class _Usage:
    """What one agent (or the platform's own pods) holds in a tenant namespace at its most pods."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys((k for k, _ in QUOTA_KEYS), Decimal(0)))

    def add_pods(self, pods: int, requests: dict[str, Decimal], limits: dict[str, Decimal]) -> None:
        self.amounts["pods"] += pods
        for resource in RESOURCES:
            self.amounts[f"requests.{resource}"] += pods * requests[resource]
            self.amounts[f"limits.{resource}"] += pods * limits[resource]


def _agent_usage(s: StackSettings, agent: Agent, tenant_id: str) -> _Usage:
    """The pods every `up` runs: each track at its fewest (HPA minimum, or the fixed replicas; a replica-ratio
    split shares one count between the tracks) and a Deployment's surge pod per track during a rolling update.
    The claims a StatefulSet keeps: one per replica it ever ran, up to each track's maximum
    (persistentVolumeClaimRetentionPolicy whenScaled and whenDeleted: Retain)."""
    bounds = s.replica_bounds(agent, tenant_id)
    r = agent.rollout
    tracks = 2 if r.canary is not None else 1
    ratio_split = r.canary is not None and r.strategy == "canary" and not bounds.hpa and agent.ingress is None
    fewest = bounds.minimum if bounds.hpa else bounds.replicas
    running = bounds.replicas if ratio_split else fewest * tracks
    surge = 0 if agent.persistent else AGENT_DEPLOYMENT_MAX_SURGE * tracks
    requests, limits = agent.requests_and_limits()
    usage = _Usage()
    usage.add_pods(
        running + surge,
        {resource: q(getattr(requests, resource)) for resource in RESOURCES},
        {resource: q(getattr(limits, resource)) for resource in RESOURCES},
    )
    if agent.persistent:
        claims = bounds.most * tracks
        usage.amounts["persistentvolumeclaims"] += claims
        usage.amounts["requests.storage"] += claims * q(agent.session_storage)
    return usage


def _platform_usage(s: StackSettings, tenant_id: str) -> _Usage:
    """The tenant's Pushgateway (with its surge pod) wherever sessions run, and one probe pod per agent with
    synthetic sessions (their CronJobs forbid concurrent runs)."""
    support = {resource: q(SUPPORT_CONTAINER_RESOURCES[resource]) for resource in RESOURCES}
    usage = _Usage()
    if any(s.synthetic_sessions_on(a) for a in s.agents):
        usage.add_pods(1 + SUPPORT_DEPLOYMENT_SURGE, support, support)
    probes = sum(1 for a in s.agents if tenant_id in a.tenants and s.synthetic_sessions_on(a))
    usage.add_pods(probes, support, support)
    return usage


def _show_amount(key: str, value: Decimal) -> str:
    if key in ("pods", "persistentvolumeclaims"):
        return str(int(value))
    if key.endswith(".cpu"):
        return format_cpu(value)
    return format_bytes(value) if value % GIB == 0 else f"{(value / GIB).quantize(Decimal('0.01')).normalize():f}Gi"


def _setting_for(agent: Agent, key: str) -> str:
    """The agent setting that moves its share of a quota key."""
    if key in ("pods", "persistentvolumeclaims"):
        if not agent.scaling.enabled:
            return "replicas"
        return "scaling.max_replicas" if key == "persistentvolumeclaims" else "scaling.min_replicas"
    if key == "requests.storage":
        return "session_storage"
    kind, resource = key.split(".")
    return f"resources.{kind}.{resource}"


def _one_pod_or_claim_exceeds(s: StackSettings, tenant_id: str, key: str, hard: Decimal) -> bool:
    """Whether `one_pod_fits_the_quota` or `claims_fit_their_limit_range` already reports this key."""
    for agent in s.agents:
        if tenant_id not in agent.tenants:
            continue
        if key == "requests.storage":
            if agent.persistent and q(agent.session_storage) > hard:
                return True
        elif key not in ("pods", "persistentvolumeclaims"):
            kind, resource = key.split(".")
            pair = agent.requests_and_limits()[0 if kind == "requests" else 1]
            if q(getattr(pair, resource)) > hard:
                return True
    return False


CLAIM_KEYS = ("persistentvolumeclaims", "requests.storage")


def tenant_namespaces_fit_their_quota(s: StackSettings) -> Iterator[Problem]:
    """Every agent of a tenant shares its namespace's ResourceQuota: the pods every `up` runs and the claims the
    StatefulSets keep must fit together (one agent's HPA maximum: `limits_fit_tenant_quota`).

    Kubernetes refuses a pod or claim that would take a namespace past any `hard` value of its ResourceQuota
    (403 Forbidden, "exceeded quota"): compute keys sum over the pods in a non-terminal state and `pods` counts
    them; `persistentvolumeclaims` and `requests.storage` count every claim in the namespace
    (kubernetes.io/docs/concepts/policy/resource-quotas/). A refused pod stalls the rollout (maxUnavailable 0).
    """
    for tenant in s.tenants:
        tier = s.tier(tenant.tier)
        usages = [
            (index, agent, _agent_usage(s, agent, tenant.id))
            for index, agent in enumerate(s.agents)
            if tenant.id in agent.tenants
        ]
        if not usages:
            continue
        platform = _platform_usage(s, tenant.id)
        for key, quota_field in QUOTA_KEYS:
            hard = q(getattr(tier.quota, quota_field))
            total = platform.amounts[key] + sum(u.amounts[key] for _, _, u in usages)
            if total <= hard or _one_pod_or_claim_exceeds(s, tenant.id, key, hard):
                continue
            index, agent, _ = max(usages, key=lambda item: item[2].amounts[key])
            setting = f"agents[{index}].{_setting_for(agent, key)}"
            parts = [f"{a.id} {_show_amount(key, u.amounts[key])}" for _, a, u in usages if u.amounts[key]]
            if platform.amounts[key]:
                parts.append(f"platform pods {_show_amount(key, platform.amounts[key])}")
            when = "its StatefulSets keep" if key in CLAIM_KEYS else "every deploy runs"
            yield Problem(
                setting,
                f"tenant {tenant.id!r} ({tenant.tier} tier): {when} {key} {_show_amount(key, total)} "
                f"({', '.join(parts)}), above its ResourceQuota {_show_amount(key, hard)}, and the cluster refuses "
                f"what goes past it: lower {setting} or raise tiers.{tenant.tier}.quota.{quota_field}",
            )


def replica_bounds_hold_in_every_tenant(s: StackSettings) -> Iterator[Problem]:
    """The HPA takes the explicit bounds, else the environment's minimum and the tier's maximum; min > max is
    refused by Kubernetes (and would be silently raised by the program)."""
    default_min = DEFAULT_REPLICAS[s.environment]
    for index, agent in enumerate(s.agents):
        scaling = agent.scaling
        minimum = scaling.min_replicas or default_min
        for tenant_id, tier_name in _tenants_of(s, agent):
            ceiling = s.tier(tier_name).max_replicas
            if scaling.max_replicas is not None and scaling.max_replicas > ceiling:
                yield Problem(
                    f"agents[{index}].scaling.max_replicas",
                    f"{scaling.max_replicas} is above the {tier_name} tier's max_replicas {ceiling} in tenant "
                    f"{tenant_id!r}, the bound of an agent's HPA in that tier: lower it (or raise "
                    f"tiers.{tier_name}.max_replicas)",
                )
                continue
            maximum = scaling.max_replicas or ceiling
            if minimum <= maximum:
                continue
            if scaling.min_replicas is not None and scaling.max_replicas is None:
                path, what = f"agents[{index}].scaling.min_replicas", f"{minimum} is above"
                fix = f"the {tier_name} tier's max_replicas {maximum} in tenant {tenant_id!r}: lower it"
            elif scaling.max_replicas is not None and scaling.min_replicas is None:
                path, what = f"agents[{index}].scaling.max_replicas", f"{maximum} is below"
                fix = f"{s.environment}'s default min_replicas {minimum}: raise it or set scaling.min_replicas"
            else:
                continue  # both explicit: replica_bounds reports it; both default: the tier table's concern
            yield Problem(path, f"{what} {fix}")


RESERVED_PORTS = {HTTP_PORT: "the agent's HTTP port", METRICS_PORT: "the metrics port"}


def ports_do_not_collide(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        if agent.lifecycle_port in RESERVED_PORTS:
            yield Problem(
                f"agents[{index}].lifecycle_port",
                f"{agent.lifecycle_port} is {RESERVED_PORTS[agent.lifecycle_port]} of the same container; "
                f"use another port (default 8080; taken: {', '.join(map(str, sorted(RESERVED_PORTS)))})",
            )


RULES = [
    limit_ranges_are_ordered,
    containers_fit_their_limit_range,
    platform_pods_fit_the_limit_range,
    one_pod_fits_the_quota,
    claims_fit_their_limit_range,
    tenant_namespaces_fit_their_quota,
    replica_bounds_hold_in_every_tenant,
    ports_do_not_collide,
]
