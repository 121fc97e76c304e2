"""Rules that span several fields. Each takes the parsed settings and yields problems."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

from settings.base import DNS1123_LABEL
from settings.checks.addons import RULES as ADDON_RULES
from settings.checks.data import RULES as DATA_RULES
from settings.checks.ga import RULES as GA_RULES
from settings.checks.identifiers import RULES as IDENTIFIER_RULES
from settings.checks.observability import RULES as OBSERVABILITY_RULES
from settings.checks.resources import RULES as RESOURCE_RULES
from settings.checks.tenancy import RULES as TENANCY_RULES
from settings.checks.workloads import RULES as WORKLOAD_RULES
from settings.errors import Problem
from settings.stack import StackSettings

Rule = Callable[[StackSettings], Iterable[Problem]]


def _duplicates(ids: list[str]) -> set[str]:
    return {value for value, count in Counter(ids).items() if count > 1}


def unique_ids(s: StackSettings) -> Iterator[Problem]:
    for section, ids in (("tenants", [t.id for t in s.tenants]), ("agents", [a.id for a in s.agents])):
        repeated = _duplicates(ids)
        for index, value in enumerate(ids):
            if value in repeated and ids.index(value) != index:
                yield Problem(
                    f"{section}[{index}].id", f"duplicate id {value!r} (first at {section}[{ids.index(value)}])"
                )


def namespaces_are_labels(s: StackSettings) -> Iterator[Problem]:
    for index, tenant in enumerate(s.tenants):
        name = tenant.namespace(s.environment)
        if len(name) > 63:
            yield Problem(
                f"tenants[{index}].id",
                f"namespace {name!r} is {len(name)} characters; at most 63 are allowed, shorten the id",
            )
        elif not DNS1123_LABEL.match(name):
            yield Problem(f"tenants[{index}].id", f"namespace {name!r} is not a DNS-1123 label")


def agents_reference_known_tenants(s: StackSettings) -> Iterator[Problem]:
    known = {t.id for t in s.tenants}
    for a_index, agent in enumerate(s.agents):
        for t_index, tenant_id in enumerate(agent.tenants):
            if tenant_id not in known:
                yield Problem(
                    f"agents[{a_index}].tenants[{t_index}]",
                    f"unknown tenant {tenant_id!r} (defined: {', '.join(sorted(known))})",
                )
        repeated = _duplicates(agent.tenants)
        if repeated:
            yield Problem(f"agents[{a_index}].tenants", f"lists {', '.join(sorted(repeated))} more than once")


def canary_weights(s: StackSettings) -> Iterator[Problem]:
    weights = s.canary.weights
    increasing = all(b > a for a, b in itertools.pairwise(weights))
    in_range = all(0 < w <= 100 for w in weights[1:]) and 0 <= weights[0] <= 100
    if not (increasing and in_range and weights[-1] == 100):
        yield Problem(
            "canary.weights",
            f"{weights} must be strictly increasing and end at 100 (a leading 0 is the shadow stage)",
        )
        return
    gated = [w for w in weights if 0 < w < 100]
    if len(s.canary.min_durations) != len(gated):
        yield Problem(
            "canary.min_durations",
            f"has {len(s.canary.min_durations)} entries; need one per stage below 100 ({gated})",
        )


def widening_waves(s: StackSettings) -> Iterator[Problem]:
    widening = s.canary.widening
    waves = widening.waves
    if waves and not (all(b > a for a, b in itertools.pairwise(waves)) and waves[0] > 0 and waves[-1] == 100):
        yield Problem(
            "canary.widening.waves",
            f"{waves} must be strictly increasing shares of the other tenants above 0 and end at 100 "
            "([] keeps them on stable until `version` changes)",
        )
    weights = widening.weights
    if not (all(b > a for a, b in itertools.pairwise(weights)) and weights[0] >= 0 and weights[-1] == 100):
        yield Problem(
            "canary.widening.weights",
            f"{weights} must be strictly increasing and end at 100 (a leading 0 is a shadow stage)",
        )
        return
    gated = [w for w in weights if 0 < w < 100]
    if len(widening.min_durations) != len(gated):
        yield Problem(
            "canary.widening.min_durations",
            f"has {len(widening.min_durations)} entries; need one per stage below 100 ({gated})",
        )


def rollout_stage_in_range(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        if agent.rollout.stage >= len(s.canary.weights):
            yield Problem(
                f"agents[{index}].rollout.stage",
                f"{agent.rollout.stage} is past the last stage; canary.weights has {len(s.canary.weights)} stages "
                f"(0..{len(s.canary.weights) - 1}); use one of those",
            )


def probes_on_lifecycle_port(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        for kind in ("liveness", "readiness", "startup"):
            probe = getattr(agent.probes, kind)
            if probe.port not in ("lifecycle", str(agent.lifecycle_port)):
                yield Problem(
                    f"agents[{index}].probes.{kind}.port",
                    f"{probe.port!r} is not the lifecycle port; the health endpoints are served on "
                    f"'lifecycle' ({agent.lifecycle_port})",
                )


def grace_period_covers_shutdown(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        needed = agent.graceful_shutdown_seconds + agent.prestop_delay_seconds
        if agent.termination_grace_period_seconds <= needed:
            yield Problem(
                f"agents[{index}].termination_grace_period_seconds",
                f"{agent.termination_grace_period_seconds} must be greater than graceful_shutdown_seconds "
                f"({agent.graceful_shutdown_seconds}) + prestop_delay_seconds "
                f"({agent.prestop_delay_seconds}) = {needed}",
            )


RULES: list[Rule] = [
    unique_ids,
    namespaces_are_labels,
    agents_reference_known_tenants,
    canary_weights,
    widening_waves,
    rollout_stage_in_range,
    probes_on_lifecycle_port,
    grace_period_covers_shutdown,
    *ADDON_RULES,
    *DATA_RULES,
    *WORKLOAD_RULES,
    *GA_RULES,
    *OBSERVABILITY_RULES,
    *IDENTIFIER_RULES,
    *RESOURCE_RULES,
    *TENANCY_RULES,
]


def check(settings: StackSettings) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(settings)]
