"""Cross-field rules for agent workloads and rollouts (weights and grace period live in `rules.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from settings.agents import Agent, canary_changes
from settings.errors import Problem, did_you_mean
from settings.quantity import parse_quantity
from settings.stack import StackSettings

LIFECYCLE_API = ("/api/v1/lifecycle", "/api/v1/status")
STANDARD_ENV = frozenset(
    {
        "ENVIRONMENT",
        "AGENT_ID",
        "AGENT_VERSION",
        "AGENT_TRACK",
        "TENANT_ID",
        "AGENT_RUNTIME_CANARY_PERCENTAGE",
        "AGENT_CONFIG_BUNDLE_DIR",
        "AGENT_CONFIG_BUNDLE_VERSION",
        "AGENT_CONFIG_BUNDLE_HASH",
        "HIVE_LIFECYCLE_ENABLED",
        "HIVE_LIFECYCLE_HOST",
        "HIVE_LIFECYCLE_PORT",
        "HIVE_GRACEFUL_SHUTDOWN_TIMEOUT",
        "TMPDIR",
        "HOME",
        "DATABASE_URL",
        "REDIS_URL",
        "AGENT_DATA_REGION",
        "REDIS_REPLICATION_GROUP_ID",
        "ANTHROPIC_API_KEY",
        "OPENAI_API_KEY",
    }
)
SECRET_WORDS = ("KEY", "TOKEN", "PASSWORD", "SECRET", "CREDENTIAL")


def sessions_need_sticky_routing(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        if agent.persistent and agent.scaling.enabled and not agent.sticky:
            yield Problem(
                f"agents[{index}].sticky_sessions",
                "false with session_state 'persistent' and an HPA (scaling.enabled: true): scaling moves sessions "
                "between pods; set sticky_sessions: true (ClientIP affinity and an ingress cookie) or "
                "scaling.enabled: false",
            )


def _tracks(agent: Agent) -> int:
    return 2 if agent.rollout.canary is not None else 1


def _limits(agent: Agent) -> tuple[Decimal, Decimal]:
    _, limits = agent.requests_and_limits()
    return parse_quantity(str(limits.cpu)), parse_quantity(str(limits.memory))


def limits_fit_tenant_quota(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        cpu, memory = _limits(agent)
        tracks = _tracks(agent)
        for tenant_id in agent.tenants:
            if tenant_id not in {t.id for t in s.tenants}:
                continue
            tier_name = s.tenant(tenant_id).tier
            tier = s.tier(tier_name)
            pods = s.replica_bounds(agent, tenant_id).most
            for resource, limit, hard in (
                ("cpu", cpu, tier.quota.limits_cpu),
                ("memory", memory, tier.quota.limits_memory),
            ):
                needed = limit * pods * tracks
                # One pod past the whole quota is `one_pod_fits_the_quota`'s line, not this one's.
                if limit <= parse_quantity(str(hard)) < needed:
                    yield Problem(
                        f"agents[{index}].resources.limits.{resource}",
                        f"{_show(limit, resource)} x {pods} pods (HPA maximum) x {tracks} tracks = "
                        f"{_show(needed, resource)} exceeds tenant {tenant_id!r} ({tier_name} tier) ResourceQuota "
                        f"limits.{resource} {hard}; lower the limit or scaling.max_replicas",
                    )


def _show(value: Decimal, resource: str) -> str:
    if resource == "cpu":
        return f"{value.normalize():f}"
    gib = value / (1 << 30)
    return f"{gib.normalize():f}Gi"


def canary_split_needs_ingress_or_fixed_replicas(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        r = agent.rollout
        if r.canary is not None and r.strategy == "canary" and agent.ingress is None and agent.scaling.enabled:
            yield Problem(
                f"agents[{index}].rollout.canary",
                "without an ingress the canary weight is a replica ratio, which an HPA would overwrite; "
                f"add agents[{index}].ingress or set scaling.enabled: false",
            )


def automatic_progression(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        r = agent.rollout
        if r.progression != "automatic":
            continue
        if r.strategy != "canary":
            yield Problem(
                f"agents[{index}].rollout.progression",
                "automatic releases move canary stages; a blue-green rollout keeps progression: pull_request",
            )
        elif r.stage != 0:
            yield Problem(
                f"agents[{index}].rollout.stage",
                f"{r.stage}: with progression: automatic the stage lives in the engine's state (the rollout's "
                "RolloutState); remove `stage` and use a `promote` control to move on (docs/releasing.md)",
            )


def release_controls_name_automatic_agents(s: StackSettings) -> Iterator[Problem]:
    automatic = {a.id for a in s.agents if a.rollout.progression == "automatic"}
    for agent_id in s.releases:
        if agent_id not in automatic:
            yield Problem(
                f"releases.{agent_id}",
                f"no agent {agent_id!r} with rollout.progression: automatic; controls act on automatic releases "
                f"only (automatic: {sorted(automatic) or 'none'})",
            )


def checklist_overrides_name_agents(s: StackSettings) -> Iterator[Problem]:
    """An override under a misspelt agent id would never apply: the agent would be judged on the default."""
    known = [a.id for a in s.agents]
    for agent_id in s.gates.ga.checklists:
        if agent_id not in known:
            yield Problem(
                f"gates.ga.checklists.{agent_id}",
                f"no agent {agent_id!r}, so this checklist applies to nothing; {did_you_mean(agent_id, known)}"
                f"use an agent id (agents: {', '.join(known) or 'none'})",
            )


def blue_green_stages(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        r = agent.rollout
        if r.strategy == "blue_green" and r.stage > 1:
            yield Problem(
                f"agents[{index}].rollout.stage",
                f"{r.stage} is not a blue-green stage; allowed: 0 (green smoke-checked and switched in) or "
                "1 (green judged by the gate, then promoted and blue removed)",
            )


def canary_differs_from_stable(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        canary = agent.rollout.canary
        if canary is not None and not canary_changes(agent, canary):
            yield Problem(
                f"agents[{index}].rollout.canary",
                f"runs what stable runs ({agent.version!r}, the same model, config bundle and env); change "
                "its version, model, config_bundle or env, or remove it",
            )


def ingress_never_routes_lifecycle_api(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        if agent.ingress is None:
            continue
        for p_index, path in enumerate(agent.ingress.paths):
            prefix = path.rstrip("/")
            covered = [api for api in LIFECYCLE_API if api == prefix or api.startswith(prefix + "/")]
            inside = [api for api in LIFECYCLE_API if prefix.startswith(api)]
            if covered or inside or not path.startswith("/"):
                yield Problem(
                    f"agents[{index}].ingress.paths[{p_index}]",
                    f"{path!r} would route the lifecycle control API ({', '.join(LIFECYCLE_API)}); "
                    "list only the agent's public API paths, e.g. /api/v1/agents",
                )


LETS_ENCRYPT_PER_REGISTERED_DOMAIN = 50
"""Let's Encrypt: at most 50 new certificates per registered domain per 7 days, whichever account asks
(https://letsencrypt.org/docs/rate-limits/, "New Certificates per Registered Domain")."""


def registered_domain(host: str) -> str:
    """The last two labels: exact under a one-label public suffix (example.com); under a longer one (co.uk)
    it groups more hosts than Let's Encrypt does, so the count below never comes out too low."""
    return ".".join(host.split(".")[-2:])


def ingress_hosts(s: StackSettings) -> Iterator[tuple[int, str, str]]:
    """(agent index, tenant id, host) of every tenant's Ingress host in the stack."""
    for index, agent in enumerate(s.agents):
        if agent.ingress is not None:
            for tenant_id in agent.tenants:
                yield index, tenant_id, agent.ingress.host(agent.id, tenant_id)


def ingress_host_per_tenant(s: StackSettings) -> Iterator[Problem]:
    """ingress-nginx routes a host and path to one backend across all namespaces: no two tenants (or agents)
    may share a host, and an override must name one of the agent's tenants."""
    for index, agent in enumerate(s.agents):
        if agent.ingress is None:
            continue
        for tenant_id in agent.ingress.hosts:
            if tenant_id not in agent.tenants:
                yield Problem(
                    f"agents[{index}].ingress.hosts.{tenant_id}",
                    f"{tenant_id!r} is not one of the agent's tenants ({', '.join(agent.tenants)})",
                )
    first: dict[str, tuple[int, str]] = {}
    for index, tenant_id, host in ingress_hosts(s):
        labels = host.split(".")
        if len(host) > 253 or any(len(label) > 63 for label in labels):
            yield Problem(
                f"agents[{index}].ingress",
                f"host {host!r} for tenant {tenant_id!r} is not a valid DNS name (at most 253 characters, "
                f"63 per label); set a shorter ingress.domain or ingress.hosts.{tenant_id}",
            )
        if host in first:
            other_index, other_tenant = first[host]
            yield Problem(
                f"agents[{index}].ingress",
                f"host {host!r} for tenant {tenant_id!r} is already the host of agents[{other_index}] for tenant "
                f"{other_tenant!r}; ingress-nginx would send one tenant's traffic to the other's pods. Give each "
                "tenant its own host (ingress.hosts.<tenant>)",
            )
        else:
            first[host] = (index, tenant_id)


def certificates_within_lets_encrypt_limits(s: StackSettings) -> Iterator[Problem]:
    """cert-manager requests one certificate per host (one per tenant Ingress without `tls_secret`)."""
    issued: dict[str, list[str]] = {}
    for index, agent in enumerate(s.agents):
        if agent.ingress is not None and agent.ingress.tls_secret is None:
            for tenant_id in agent.tenants:
                host = agent.ingress.host(agent.id, tenant_id)
                issued.setdefault(registered_domain(host), []).append(f"agents[{index}]")
    for domain, owners in sorted(issued.items()):
        if len(owners) > LETS_ENCRYPT_PER_REGISTERED_DOMAIN:
            yield Problem(
                owners[0] + ".ingress",
                f"{len(owners)} tenant hosts under {domain} need {len(owners)} new certificates, over Let's "
                f"Encrypt's {LETS_ENCRYPT_PER_REGISTERED_DOMAIN} per registered domain per week; use a wildcard "
                "certificate (DNS-01) in ingress.tls_secret",
            )


def env_is_not_standard_or_secret(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        sources = [("env", agent.env), ("model", agent.model)]
        if agent.rollout.canary is not None:
            sources.append(("rollout.canary.env", agent.rollout.canary.env))
            sources.append(("rollout.canary.model", agent.rollout.canary.model))
        for field, values in sources:
            for key in values:
                if key in STANDARD_ENV:
                    yield Problem(
                        f"agents[{index}].{field}.{key}",
                        "is set by the platform; remove it (standard variables and secretKeyRef credentials)",
                    )
                elif any(word in key.upper() for word in SECRET_WORDS):
                    yield Problem(
                        f"agents[{index}].{field}.{key}",
                        f"looks like a credential; secrets come only from the {s.names.agent_secret!r} Secret "
                        "(External Secrets), never from stack config",
                    )


def replica_bounds(s: StackSettings) -> Iterator[Problem]:
    for index, agent in enumerate(s.agents):
        sc = agent.scaling
        if sc.min_replicas is not None and sc.max_replicas is not None and sc.max_replicas < sc.min_replicas:
            yield Problem(
                f"agents[{index}].scaling.max_replicas",
                f"{sc.max_replicas} is below scaling.min_replicas {sc.min_replicas}",
            )


RULES = [
    sessions_need_sticky_routing,
    limits_fit_tenant_quota,
    canary_split_needs_ingress_or_fixed_replicas,
    automatic_progression,
    release_controls_name_automatic_agents,
    checklist_overrides_name_agents,
    blue_green_stages,
    canary_differs_from_stable,
    ingress_never_routes_lifecycle_api,
    ingress_host_per_tenant,
    certificates_within_lets_encrypt_limits,
    env_is_not_standard_or_secret,
    replica_bounds,
]
