"""Where a release stands and what one evaluation does to it: a pure function of the previous state.

A release driven by the engine (`rollout.progression: automatic`) keeps its stage, weight, last verdict,
hold reason and history in the engine's state (the `RolloutState` resource's outputs); the stack file keeps
only the intent (the canary version). Each evaluation is one look at the gate:

- `pass` applies the next stage's weight (one stage, never more), and at the last stage promotes;
- `fail` sets the canary weight to 0 at once and keeps it there (phase `failed`) until a `retry`;
- anything undecided (`inconclusive`, `error`: no data, Prometheus unreachable) holds the current weight;
  past the stage's maximum it ends in `timed_out` (weight held, alert; still watched: a fail rolls it back,
  a pass no longer promotes) or, with `on_timeout: fail`, `failed`.

Operator controls (`promote`, `abort`, `retry`, `pause`, `resume`) are applied once each, at the first
evaluation that sees them, and recorded in the history with who and when.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

Phase = Literal["progressing", "paused", "promoted", "failed", "aborted", "timed_out"]
Verdict = Literal["pass", "fail", "inconclusive", "error"]
ActionKind = Literal["promote", "abort", "retry", "pause", "resume"]
OnTimeout = Literal["hold", "fail"]

ACTIONS: tuple[str, ...] = ("promote", "abort", "retry", "pause", "resume")
SETTLED: frozenset[str] = frozenset({"promoted", "failed", "aborted"})
"""Phases that no longer look at the gate: only an operator's action moves them. (`timed_out` still looks:
its canary keeps serving, so a fail must still roll it back.)"""
HISTORY_LIMIT = 50


class SkippedStageError(ValueError):
    """A stage change by more than one stage: refused, whatever asked for it."""


@dataclass(frozen=True)
class StagePlan:
    """One stage: its canary weight and how long its gate may take before the next stage."""

    weight: int
    min_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class Control:
    """An operator's action, from the stack config; its key makes it apply once."""

    action: ActionKind
    by: str
    at: str
    reason: str = ""
    stage: int | None = None
    """`promote` to this stage: refused unless it is the next one (a stage change never skips)."""

    @property
    def key(self) -> str:
        return f"{self.action}@{self.at}@{self.by}" + ("" if self.stage is None else f"@{self.stage}")


@dataclass(frozen=True)
class Event:
    at: str
    event: str
    """started | stage | hold | fail | abort | retry | pause | resume | promote | timed_out | refused"""
    stage: int
    weight: int
    verdict: str = ""
    reason: str = ""
    by: str = ""


@dataclass(frozen=True)
class ReleaseState:
    version: str
    stage: int
    weight: int
    phase: Phase
    stage_started_at: str
    verdict: str = ""
    hold_reason: str = ""
    report: str = ""
    evaluated_at: str = ""
    applied_control: str = ""
    history: tuple[Event, ...] = field(default_factory=tuple)

    @property
    def shadow(self) -> bool:
        """Weight 0 while progressing is the shadow stage: requests mirrored, not served."""
        return self.weight == 0 and self.phase in {"progressing", "paused", "timed_out"}

    @property
    def promoted(self) -> bool:
        return self.phase == "promoted"

    def as_outputs(self) -> dict[str, Any]:
        out = asdict(self)
        out["history"] = [asdict(e) for e in self.history]
        return out

    @staticmethod
    def from_outputs(outs: dict[str, Any]) -> ReleaseState:
        fields = {k: outs[k] for k in ReleaseState.__dataclass_fields__ if k in outs and outs[k] is not None}
        fields["stage"] = int(fields["stage"])
        fields["weight"] = int(fields["weight"])
        fields["history"] = tuple(
            Event(**{**e, "stage": int(e["stage"]), "weight": int(e["weight"])}) for e in outs.get("history") or []
        )
        return ReleaseState(**fields)


def start(version: str, stages: tuple[StagePlan, ...], now: str) -> ReleaseState:
    """A new canary version starts at the first stage; its clock starts now."""
    first = stages[0].weight
    return ReleaseState(
        version, 0, first, "progressing", now, history=(Event(now, "started", 0, first, reason=f"canary {version}"),)
    )


def needs_look(state: ReleaseState, stages: tuple[StagePlan, ...]) -> bool:
    """Whether this evaluation queries the gate: a release in flight below its last stage."""
    return state.phase in {"progressing", "paused", "timed_out"} and state.stage < len(stages) - 1


def elapsed_seconds(state: ReleaseState, now: str) -> float:
    return (parse_utc(now) - parse_utc(state.stage_started_at)).total_seconds()


def step(
    state: ReleaseState,
    stages: tuple[StagePlan, ...],
    verdict: Verdict | None,
    report: str,
    control: Control | None,
    now: str,
    on_timeout: OnTimeout = "hold",
    reason: str = "",
) -> ReleaseState:
    """The state after one evaluation. `verdict` is None when the gate was not looked at (`needs_look`)."""
    nxt = _step(state, stages, verdict, report, control, now, on_timeout, reason)
    check_transition(state, nxt, stages)
    return nxt


def _step(
    state: ReleaseState,
    stages: tuple[StagePlan, ...],
    verdict: Verdict | None,
    report: str,
    control: Control | None,
    now: str,
    on_timeout: OnTimeout,
    reason: str,
) -> ReleaseState:
    last = len(stages) - 1
    s = replace(state, evaluated_at=now)
    if verdict is not None:
        s = replace(s, verdict=verdict, report=report)
    pending = control if control is not None and control.key != state.applied_control else None
    if pending is not None:
        s = replace(s, applied_control=pending.key)

    def log(x: ReleaseState, event: str, why: str = "", by: str = "") -> ReleaseState:
        e = Event(now, event, x.stage, x.weight, verdict or "", why, by)
        return replace(x, history=(*x.history, e)[-HISTORY_LIMIT:])

    def to_stage(x: ReleaseState, stage: int, why: str, by: str = "") -> ReleaseState:
        phase: Phase = "promoted" if stage == last else "progressing"
        x = replace(x, stage=stage, weight=stages[stage].weight, phase=phase, stage_started_at=now, hold_reason="")
        return log(x, "promote" if stage == last else "stage", why, by)

    def rolled_back(x: ReleaseState, phase: Phase, event: str, why: str, by: str = "") -> ReleaseState:
        return log(replace(x, weight=0, phase=phase, hold_reason=why), event, why, by)

    # A failing gate rolls back before anything an operator asked for: no control promotes past a fail.
    if verdict == "fail" and s.phase in {"progressing", "paused", "timed_out"}:
        s = rolled_back(s, "failed", "fail", reason or "the gate failed: canary weight 0")
        if pending is None:
            return s
        if pending.action == "abort":
            return log(s, "abort", pending.reason, pending.by)
        return log(s, "refused", f"{pending.action}: the gate failed in the same evaluation", pending.by)

    if pending is not None:
        who, why = pending.by, pending.reason
        if pending.action == "abort":
            if s.phase in {"failed", "aborted"}:
                return log(s, "refused", f"abort: the canary weight is already 0 ({s.phase})", who)
            return rolled_back(s, "aborted", "abort", why or f"aborted by {who}", who)
        if pending.action == "retry":
            if s.phase not in {"failed", "aborted", "timed_out"}:
                return log(s, "refused", f"retry: nothing to retry while {s.phase}", who)
            s = replace(s, stage=0, weight=stages[0].weight, phase="progressing", stage_started_at=now, hold_reason="")
            return log(s, "retry", why, who)
        if pending.action == "pause":
            if s.phase != "progressing":
                return log(s, "refused", f"pause: the release is {s.phase}", who)
            return log(replace(s, phase="paused", hold_reason=f"paused by {who}"), "pause", why, who)
        if pending.action == "resume":
            if s.phase != "paused":
                return log(s, "refused", f"resume: the release is {s.phase}, not paused", who)
            s = log(replace(s, phase="progressing", hold_reason=""), "resume", why, who)
        if pending.action == "promote":
            if s.phase not in {"progressing", "timed_out"} or s.stage >= last:
                return log(s, "refused", f"promote: the release is {s.phase} at stage {s.stage}", who)
            if pending.stage is not None and pending.stage != s.stage + 1:
                why = f"promote to stage {pending.stage}: the release is at stage {s.stage} and moves one at a time"
                return log(s, "refused", why, who)
            if verdict == "error":
                return log(s, "refused", "promote: the gate could not evaluate, and a promote never skips that", who)
            return to_stage(s, s.stage + 1, why or f"promoted by {who}", who)

    if s.phase != "progressing" or verdict is None:
        return s
    if verdict == "pass":
        return to_stage(s, s.stage + 1, reason or "the gate passed")
    # Undecided: hold the weight; past the stage's maximum the wait ends.
    limit = stages[s.stage].max_seconds
    why = reason or f"gate {verdict}"
    if elapsed_seconds(s, now) >= limit:
        why = f"stage {s.stage} undecided after {limit / 60:.0f} minutes (its maximum): {why}"
        if on_timeout == "fail":
            return rolled_back(s, "failed", "timed_out", why)
        return log(replace(s, phase="timed_out", hold_reason=why), "timed_out", why)
    if why != state.hold_reason:
        return log(replace(s, hold_reason=why), "hold", why)
    return s


def check_transition(before: ReleaseState, after: ReleaseState, stages: tuple[StagePlan, ...]) -> None:
    """One stage per evaluation, forward only except a retry to the first; the weight is the stage's or 0."""
    if after.version != before.version:
        raise SkippedStageError(f"state of canary {before.version} cannot become canary {after.version}")
    moved = after.stage - before.stage
    if moved > 1 or (moved < 0 and after.stage != 0):
        raise SkippedStageError(
            f"stage {before.stage} -> {after.stage}: a release moves one stage per evaluation; refused"
        )
    if not 0 <= after.stage < len(stages):
        raise SkippedStageError(f"stage {after.stage} is not one of the {len(stages)} stages")
    if after.weight not in {0, stages[after.stage].weight}:
        raise SkippedStageError(f"weight {after.weight} is not stage {after.stage}'s ({stages[after.stage].weight})")


def parse_utc(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it as UTC, e.g. 2025-05-01T10:00:00Z")
    return value.astimezone(UTC)
