"""RolloutState: a dynamic resource whose state is where an automatic release stands; each `up` is one look.

    state = RolloutState(f"{name}-release", RolloutStateArgs(
        canary_version="1.5.0", stages=(StagePlan(5, 600, 2400), StagePlan(25, 1200, 4800), ...),
        gate=GateTemplate(...),          # the SLO gate's inputs other than stage, weight and window
        control=Control("promote", "alice", "2026-12-03T14:00:00Z") or None,
        on_timeout="hold",
        wave=1, after=cohort_phases,     # a widened tenant: the previous wave's {tenant: {version, phase}}
    ), opts)
    state.weight   # Output[int]: the canary weight this `up` applies (0 after a fail or an abort)

Outputs: the inputs, then `planning.release.ReleaseState` (`stage`, `weight`, `phase`, `stage_started_at`,
`verdict`, `hold_reason`, `report`, `evaluated_at`, `applied_control`, `history`).

Lifecycle. A new canary version (or agent, tenant) replaces the resource: `create` starts the release at
the first stage, with its clock. While the release is in flight (`progressing`, `paused`) or an operator's
control has not been applied yet, `diff` reports a change, so every `up` calls `update`, which looks at the
gate once (`gates.slo_gate.evaluate`) and applies `planning.release.step`. A settled release (`promoted`,
`failed`, `aborted`) is no change at all: nothing is queried.

A widened tenant (`wave` >= 1) takes `after`, the releases of the previous wave's tenants in this same `up`
(their RolloutStates' outputs, so the engine updates them first). It starts `waiting` at weight 0 and runs
its own stages once `planning.release.wave_gate` opens: each of those tenants promoted this version.

Nothing here raises for an undecided gate or an unreachable Prometheus: the release holds, and the rest of
the `up` applies. `update` raises only for a stage change that skips (`SkippedStageError`), which no
verdict can produce; the engine then keeps the previous state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)
from pydantic import ValidationError

from gates import release_notify
from gates.pickling import DynamicResource
from gates.prometheus import Credentials
from gates.slo_gate import GateSpec, credentials_from_config, evaluate
from gates.slo_gate import _normal as normal
from gates.stage_clock import Clock, format_time, system_clock
from planning.release import (
    SETTLED,
    Control,
    OnTimeout,
    ReleaseState,
    StagePlan,
    WaveGate,
    needs_look,
    start,
    step,
    wave_gate,
)

INPUT_KEYS = (
    "canary_version",
    "agent_id",
    "tenant_id",
    "stages",
    "gate",
    "control",
    "on_timeout",
    "notify",
    "wave",
    "after",
)
IDENTITY_KEYS = ("canary_version", "agent_id", "tenant_id")
STATE_KEYS = (*ReleaseState.__dataclass_fields__, "notify_status")
WINDOW_KEYS = ("stage", "weight", "stage_started_at", "min_duration_seconds", "max_duration_seconds")


def stages_from(props: dict[str, Any]) -> tuple[StagePlan, ...]:
    return tuple(
        StagePlan(int(s["weight"]), float(s["min_seconds"]), float(s["max_seconds"]), float(s.get("cap_seconds") or 0))
        for s in props["stages"]
    )


def control_from(props: dict[str, Any]) -> Control | None:
    raw = props.get("control")
    if not raw:
        return None
    stage = raw.get("stage")
    return Control(raw["action"], raw["by"], raw["at"], raw.get("reason") or "", None if stage is None else int(stage))


def wave_of(props: dict[str, Any]) -> WaveGate | None:
    """A widened tenant's wave gate from the previous wave's releases; None for a cohort tenant."""
    wave = int(props.get("wave") or 0)
    if wave < 1:
        return None
    after = props.get("after")
    after = after if isinstance(after, dict) else {}  # unknown in a preview: nothing seen, nothing opens
    previous = {t: {k: str(r.get(k) or "") for k in ("version", "phase")} for t, r in after.items() if r}
    return wave_gate(wave, props["canary_version"], previous)


def gate_spec(template: dict[str, Any], state: ReleaseState, stages: tuple[StagePlan, ...]) -> GateSpec:
    """The gate that judges the current stage's evidence and would promote to the next stage."""
    current, target = stages[state.stage], stages[state.stage + 1]
    return GateSpec.model_validate(
        {
            **template,
            "stage": state.stage + 1,
            "weight": target.weight,
            "stage_started_at": state.stage_started_at,
            "min_duration_seconds": current.min_seconds,
            # Its report says "timed out" only at the longest the stage can wait; before that it says how much
            # more evidence it needs and how long that takes, which is what an extension waits for.
            "max_duration_seconds": current.longest_seconds,
        }
    )


def look(
    template: dict[str, Any], state: ReleaseState, stages: tuple[StagePlan, ...], now: datetime, creds: Credentials
) -> tuple[str, str, str, float | None]:
    """(verdict, reason, report, more_minutes) of one evaluation; a fault is the verdict `error`, never an
    exception."""
    try:
        spec = gate_spec(template, state, stages)
    except ValidationError as exc:
        return "error", f"the gate's inputs are invalid: {exc.errors(include_url=False)[0]['msg']}", "", None
    decision = evaluate(spec, now, creds)
    return decision.verdict, decision.reason, decision.report(spec.title), decision.more_minutes


def notify(props: dict[str, Any], state: ReleaseState, now: str) -> str:
    """Post this evaluation's events (they carry its time) to Alertmanager; "" when none or no Alertmanager."""
    target = props.get("notify") or {}
    events = [e for e in state.history if e.at == now]
    if not events or not target.get("alertmanager_url"):
        return ""
    batch = release_notify.alerts(
        events, props["agent_id"], props.get("tenant_id") or "", target["namespace"], state.version, state.report
    )
    return release_notify.post(target["alertmanager_url"], batch)


class RolloutStateProvider(ResourceProvider):
    """Holds only its clock; credentials are read per evaluation, never pickled."""

    serialize_as_secret_always = False

    def __init__(self, clock: Clock = system_clock):
        super().__init__()
        self.clock = clock
        self.config_credentials = Credentials()

    def configure(self, req: ConfigureRequest) -> None:
        self.config_credentials = credentials_from_config(req.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        stages = news.get("stages")
        if isinstance(stages, list):
            if len(stages) < 2:
                failures.append(CheckFailure("stages", "a release needs at least two stages (the last is 100%)"))
            elif int(stages[-1]["weight"]) != 100:
                failures.append(CheckFailure("stages", f"the last stage must be 100%, not {stages[-1]['weight']}"))
        control = news.get("control")
        if isinstance(control, dict) and control.get("action") not in {"promote", "abort", "retry", "pause", "resume"}:
            failures.append(CheckFailure("control.action", f"unknown action {control.get('action')!r}"))
        wave, after = news.get("wave"), news.get("after")
        if isinstance(wave, int | float) and wave >= 1 and not isinstance(after, dict | str):
            failures.append(CheckFailure("after", "a widened tenant needs the previous wave's releases"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in IDENTITY_KEYS if olds.get(k) != news.get(k)]
        if replaces:
            return DiffResult(changes=True, replaces=replaces, delete_before_replace=False)
        control = control_from(news)
        unapplied = control is not None and control.key != olds.get("applied_control")
        in_flight = olds.get("phase") not in SETTLED
        changed = [k for k in ("stages", "gate", "on_timeout") if normal(olds.get(k)) != normal(news.get(k))]
        return DiffResult(changes=in_flight or unapplied or bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        stages = stages_from(props)
        now = format_time(self.clock())
        state = start(props["canary_version"], stages, now, wave_of(props))
        status = notify(props, state, now)
        outs = {**{k: props.get(k) for k in INPUT_KEYS}, **state.as_outputs(), "notify_status": status}
        rid = f"{props['agent_id']}/{props.get('tenant_id') or '*'}/{props['canary_version']}"
        return CreateResult(rid, outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        stages = stages_from(news)
        before = ReleaseState.from_outputs(olds)
        now = self.clock()
        verdict = reason = report = None
        more_minutes: float | None = None
        if needs_look(before, stages):
            creds = Credentials.resolve(fallback=self.config_credentials)
            verdict, reason, report, more_minutes = look(news["gate"], before, stages, now, creds)
        on_timeout: OnTimeout = news.get("on_timeout") or "hold"
        after = step(
            before,
            stages,
            verdict,  # type: ignore[arg-type]
            report or before.report,
            control_from(news),
            format_time(now),
            on_timeout,
            reason or "",
            wave_of(news),
            more_minutes,
        )
        status = notify(news, after, format_time(now))
        return UpdateResult({**{k: news.get(k) for k in INPUT_KEYS}, **after.as_outputs(), "notify_status": status})


@dataclass(frozen=True)
class RolloutStateArgs:
    agent_id: pulumi.Input[str]
    canary_version: pulumi.Input[str]
    stages: tuple[StagePlan, ...]
    gate: dict[str, Any]
    """`GateSpec` fields other than the window's (`WINDOW_KEYS`): connection, selectors, criteria, policy."""
    tenant_id: pulumi.Input[str] | None = None
    control: Control | None = None
    on_timeout: OnTimeout = "hold"
    alertmanager_url: str | None = None
    """Where release events go as alerts (the tenant's AlertmanagerConfig routes them to on-call)."""
    namespace: pulumi.Input[str] | None = None
    wave: int = 0
    """0: the canary cohort. n >= 1: a widened tenant, which waits until every release in `after` promoted."""
    after: pulumi.Input[dict[str, Any]] | None = None
    """A widened tenant: the previous wave's releases, {tenant: {version, phase}} (their RolloutStates)."""

    def props(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "tenant_id": self.tenant_id,
            "canary_version": self.canary_version,
            "stages": [
                {
                    "weight": s.weight,
                    "min_seconds": s.min_seconds,
                    "max_seconds": s.max_seconds,
                    "cap_seconds": s.cap_seconds,
                }
                for s in self.stages
            ],
            "gate": {k: v for k, v in self.gate.items() if k not in WINDOW_KEYS},
            "control": None
            if self.control is None
            else {
                "action": self.control.action,
                "by": self.control.by,
                "at": self.control.at,
                "reason": self.control.reason,
                "stage": self.control.stage,
            },
            "on_timeout": self.on_timeout,
            "notify": {"alertmanager_url": self.alertmanager_url, "namespace": self.namespace},
            "wave": self.wave,
            "after": self.after,
        }


class RolloutState(DynamicResource, module="agent-platform", name="RolloutState"):
    version: pulumi.Output[str]
    stage: pulumi.Output[int]
    weight: pulumi.Output[int]
    phase: pulumi.Output[str]
    stage_started_at: pulumi.Output[str]
    verdict: pulumi.Output[str]
    hold_reason: pulumi.Output[str]
    report: pulumi.Output[str]
    evaluated_at: pulumi.Output[str]
    applied_control: pulumi.Output[str]
    history: pulumi.Output[list]
    notify_status: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: RolloutStateArgs,
        opts: pulumi.ResourceOptions | None = None,
        clock: Clock = system_clock,
    ):
        props = {**args.props(), **dict.fromkeys(STATE_KEYS)}
        super().__init__(RolloutStateProvider(clock), name, props, opts)
