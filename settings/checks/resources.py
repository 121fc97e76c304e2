"""What the cluster enforces later, checked now: requests within limits, containers within their tenant's
LimitRange, one pod within the ResourceQuota, volume claims within the LimitRange, HPA bounds, ports."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal

from conventions.ports import HTTP_PORT, METRICS_PORT
from settings.agents import DEFAULT_REPLICAS, Agent
from settings.errors import Problem
from settings.quantity import parse_quantity
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
                            f"{getattr(pair, resource)} is more than tenant {tenant_id!r}'s whole ResourceQuota "
                            f"{kind}.{resource} {getattr(quota, f'{kind}_{resource}')} ({tier_name} tier): lower it",
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
                    f"{agent.session_storage} is more than tenant {tenant_id!r}'s storage quota "
                    f"{tier.quota.requests_storage}: lower it",
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
    one_pod_fits_the_quota,
    claims_fit_their_limit_range,
    replica_bounds_hold_in_every_tenant,
    ports_do_not_collide,
]
