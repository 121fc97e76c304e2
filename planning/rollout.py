"""What one agent's rollout asks for, as plain data: releases per track, stage weight, gate, tenants exposed.

Pure functions of the settings, so the composition, the tests and the gate CLI can agree on the same plan.
What the gate then decides (`outcome`) is pure too: the components only wire it to the gate's verdict.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from planning.feature_flags import cohort_bucket
from planning.release import OnTimeout, StagePlan
from settings.agents import Agent, ConfigBundle, Dimension, Track, canary_changes, canary_image
from settings.canary import CanaryPolicy, max_exposed
from settings.slo import seconds
from settings.tenancy import Environment

Mode = Literal["canary", "blue_green"]
BLUE_GREEN_STAGES = (0, 1)


class GateHeldError(Exception):
    """The gate neither passed nor rolled back; the `up` stops and nothing that depends on it changes."""


def image_ref(image: str, version: str, digest: str | None) -> str:
    return f"{image}:{version}@{digest}" if digest else f"{image}:{version}"


LABEL_MAX = 63  # a Kubernetes label value


@dataclass(frozen=True)
class Release:
    """What a track runs; two releases differ in image, model, config bundle or env.

    `version` is the release's label: the `version` label of its pods and metrics (`AGENT_VERSION`) and
    what the gate selects each track by. It is the image tag, and for a canary that keeps the stable tag
    but changes the model, the config bundle or env, the tag with what changed (`1.4.2_model.3f2a9c`), so
    the tracks stay apart in every series. `dimensions` says what a canary changes (empty for stable).
    """

    version: str
    image: str
    env: dict[str, str] = field(default_factory=dict)
    image_version: str = ""
    model: dict[str, str] = field(default_factory=dict)
    bundle: ConfigBundle | None = None
    dimensions: tuple[Dimension, ...] = ()

    @property
    def tag(self) -> str:
        return self.image_version or self.version


def stable_release(agent: Agent) -> Release:
    image = image_ref(agent.image, agent.version, agent.digest)
    env = {**agent.env, **agent.model}
    return Release(agent.version, image, env, agent.version, dict(agent.model), agent.config_bundle)


def canary_release(agent: Agent, track: Track) -> Release:
    repository, tag, digest = canary_image(agent, track)
    image = image_ref(repository, tag, digest)
    changed = canary_changes(agent, track)
    env = {**agent.env, **agent.model, **track.model, **track.env}
    model = {k: env[k] for k in sorted(set(agent.model) | set(track.model))}
    bundle = track.config_bundle or agent.config_bundle
    return Release(_label(tag, agent.version, changed), image, env, tag, model, bundle, tuple(changed))


def _label(tag: str, stable_tag: str, changed: dict[Dimension, str]) -> str:
    """The tag alone while it differs from stable's; otherwise the tag with each changed dimension."""
    if tag != stable_tag or not changed:
        return tag
    label = "_".join([tag, *(f"{d}.{v}" for d, v in changed.items() if d != "image")])
    if len(label) > LABEL_MAX:
        label = f"{tag[: LABEL_MAX - 11]}_{hashlib.sha256(label.encode()).hexdigest()[:10]}"
    return label


@dataclass(frozen=True)
class GatePlan:
    stage: int
    """The stage the gate promotes to (its name and the SloGate's `stage`)."""
    weight: int
    previous_stage: int
    """The stage whose clock starts the gate's evidence window."""
    min_duration_seconds: int
    max_duration_seconds: int
    mode: Mode
    policy: Literal["rollback", "block"]


@dataclass(frozen=True)
class RolloutPlan:
    strategy: Literal["canary", "blue_green"]
    stage: int
    weight: int
    """Canary traffic the stage asks for (blue-green: 100 once green is switched in)."""
    shadow: bool
    promotes: bool
    """This stage hands the canary release to the stable track and removes the canary track."""
    forced_rollback: bool
    gate: GatePlan | None
    exposed: tuple[str, ...]
    stable: Release
    canary: Release | None
    stages: tuple[StagePlan, ...] = ()
    """`progression: automatic`: every stage for the RolloutState, which holds where the release stands."""
    on_timeout: OnTimeout = "hold"
    waves: tuple[tuple[str, ...], ...] = ()
    """`progression: automatic`: the tenants outside `exposed`, wave by wave (`widening_waves`)."""
    wave_stages: tuple[StagePlan, ...] = ()
    """The stages a widened tenant runs (`canary.widening.weights`)."""
    wave: int = 0
    """This tenant's wave (`for_tenant`): 0 for the canary cohort."""
    after: tuple[str, ...] = ()
    """A widened tenant's previous wave: its wave starts once each of these tenants has promoted."""

    @property
    def automatic(self) -> bool:
        return bool(self.stages)

    @property
    def canary_tenants(self) -> tuple[str, ...]:
        """Every tenant that runs a canary track: the cohort and, for an automatic release, its waves."""
        return (*self.exposed, *(t for wave in self.waves for t in wave))

    def for_tenant(self, tenant_id: str) -> RolloutPlan:
        """A tenant outside the exposure and the waves runs the stable release alone, with no gate. A widened
        tenant runs the widening stages after its previous wave."""
        if self.canary is None or tenant_id in self.exposed:
            return self
        for index, members in enumerate(self.waves):
            if tenant_id in members:
                previous = self.waves[index - 1] if index else self.exposed
                return replace(self, stages=self.wave_stages, wave=index + 1, after=previous)
        return RolloutPlan(self.strategy, self.stage, 0, False, False, False, None, self.exposed, self.stable, None)


@dataclass(frozen=True)
class Outcome:
    weight: int
    promoted: bool
    rolled_back: bool


def exposed_tenants(
    agent: Agent, environment: Environment, policy: CanaryPolicy, in_cohort: Callable[[str], bool]
) -> tuple[str, ...]:
    """Canary-cohort tenants first; when none serves the agent, the one with the lowest cohort bucket.

    In prod at most `max_tenant_exposure_pct` of the agent's tenants (at least one) until `exposure: all`.
    """
    if agent.rollout.canary is None:
        return ()
    if agent.rollout.exposure == "all":
        return tuple(agent.tenants)
    by_bucket = sorted(agent.tenants, key=lambda t: (cohort_bucket(t), t))
    chosen = [t for t in by_bucket if in_cohort(t)] or by_bucket[:1]
    if environment == "prod":
        chosen = chosen[: max_exposed(len(agent.tenants), policy.max_tenant_exposure_pct)]
    return tuple(t for t in agent.tenants if t in chosen)


def widening_waves(agent: Agent, exposed: tuple[str, ...], shares: list[float]) -> tuple[tuple[str, ...], ...]:
    """The tenants outside the cohort, in waves of cumulative `shares` (%) of them, rounded up.

    They join in cohort-bucket order, the order in which a growing canary percentage takes tenants into the
    cohort; a share that adds no tenant adds no wave. Each wave lists its tenants in the stack file's order.
    """
    rest = sorted((t for t in agent.tenants if t not in exposed), key=lambda t: (cohort_bucket(t), t))
    waves: list[tuple[str, ...]] = []
    taken = 0
    for share in shares:
        upto = min(len(rest), math.ceil(len(rest) * share / 100 - 1e-9))
        if upto > taken:
            members = set(rest[taken:upto])
            waves.append(tuple(t for t in agent.tenants if t in members))
            taken = upto
    return tuple(waves)


def plan_rollout(
    agent: Agent, environment: Environment, policy: CanaryPolicy, in_cohort: Callable[[str], bool]
) -> RolloutPlan:
    rollout = agent.rollout
    stable = stable_release(agent)
    exposed = exposed_tenants(agent, environment, policy, in_cohort)
    if rollout.canary is None:
        return RolloutPlan(rollout.strategy, 0, 0, False, False, False, None, (), stable, None)
    canary = canary_release(agent, rollout.canary)
    effective_policy = rollout.policy or policy.policy
    if rollout.strategy == "blue_green":
        gate = None
        if rollout.stage == 1 and not rollout.rollback:
            # Green serves alone after the switch and blue waits as the fallback; the gate watches green for
            # minutes, then its pass hands green's release to the stable track and blue is gone.
            minimum = seconds(policy.blue_green_watch)
            gate = GatePlan(
                1, 100, 0, minimum, math.ceil(minimum * policy.max_duration_factor), "blue_green", effective_policy
            )
        weight = 0 if rollout.rollback else 100
        return RolloutPlan(
            "blue_green",
            rollout.stage,
            weight,
            False,
            rollout.stage == 1 and not rollout.rollback,
            rollout.rollback,
            gate,
            exposed,
            stable,
            canary,
        )
    weights = policy.weights
    if rollout.progression == "automatic":
        widening = policy.widening
        return RolloutPlan(
            "canary",
            0,
            0 if rollout.rollback else weights[0],
            shadow=False,
            promotes=False,
            forced_rollback=rollout.rollback,
            gate=None,
            exposed=exposed,
            stable=stable,
            canary=canary,
            stages=release_stages(policy),
            on_timeout=policy.on_timeout,
            waves=widening_waves(agent, exposed, widening.waves),
            wave_stages=stages_of(widening.weights, widening.min_durations, policy),
        )
    stage = rollout.stage
    weight = weights[stage]
    gate = None
    if stage >= 1 and not rollout.rollback:
        # The shadow stage (weight 0) mirrors requests to the canary, so the gate after it judges the canary's
        # own answers to them for `shadow_duration`; each weighted stage has its own minimum.
        previous = weights[stage - 1]
        gated = [w for w in weights if 0 < w < 100]
        minimum = seconds(policy.shadow_duration if previous == 0 else policy.min_durations[gated.index(previous)])
        gate = GatePlan(
            stage,
            weight,
            stage - 1,
            minimum,
            math.ceil(minimum * policy.max_duration_factor),
            "canary",
            effective_policy,
        )
    return RolloutPlan(
        "canary",
        stage,
        0 if rollout.rollback else weight,
        shadow=weight == 0 and not rollout.rollback,
        promotes=weight == 100 and not rollout.rollback,
        forced_rollback=rollout.rollback,
        gate=gate,
        exposed=exposed,
        stable=stable,
        canary=canary,
    )


def release_stages(policy: CanaryPolicy) -> tuple[StagePlan, ...]:
    """Each stage's weight and how long it waits for its gate: the shadow duration at weight 0, else its own
    minimum; the stage times out at `max_duration_factor` x that."""
    return stages_of(policy.weights, policy.min_durations, policy)


def stages_of(weights: list[int], min_durations: list[str], policy: CanaryPolicy) -> tuple[StagePlan, ...]:
    gated = [w for w in weights if 0 < w < 100]
    out = []
    for weight in weights:
        if weight == 100:
            out.append(StagePlan(100, 0, 1))
            continue
        minimum = seconds(policy.shadow_duration if weight == 0 else min_durations[gated.index(weight)])
        maximum = math.ceil(minimum * policy.max_duration_factor)
        out.append(StagePlan(weight, minimum, maximum, max(maximum, seconds(policy.extended_max_duration))))
    return tuple(out)


def outcome(plan: RolloutPlan, verdict: str | None, report: str = "") -> Outcome:
    """What the tracks do given the gate's verdict (None: the stage has no gate)."""
    if plan.forced_rollback:
        return Outcome(0, False, True)
    if verdict is None or verdict == "pass":
        return Outcome(plan.weight, plan.promotes, False)
    if verdict == "fail" and plan.gate is not None and plan.gate.policy == "rollback":
        return Outcome(0, False, True)
    raise GateHeldError(
        f"gate for stage {plan.stage} ({plan.weight}%) reported {verdict!r}: the rollout holds at the current "
        f"stage and nothing that depends on the gate changes\n{report}".rstrip()
    )
