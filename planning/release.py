"""Where a release stands and what one evaluation does to it: a pure function of the previous state.

A release driven by the engine (`rollout.progression: automatic`) keeps its stage, weight, last verdict,
hold reason and history in the engine's state (the `RolloutState` resource's outputs); the stack file keeps
only the intent (the canary version). Each evaluation is one look at the gate:

- `pass` applies the next stage's weight (one stage, never more), and at the last stage promotes;
- `fail` sets the canary weight to 0 at once and keeps it there (phase `failed`) until a `retry`;
- anything undecided (`inconclusive`, `error`: no data, Prometheus unreachable) holds the current weight;
  past the stage's maximum it ends in `timed_out` (weight held, alert; still watched: a fail rolls it back,
  a pass no longer promotes) or, with `on_timeout: fail`, `failed`. A stage with a cap (`cap_seconds`)
  waits on past its maximum, up to the cap, while the gate can still weigh evidence (`inconclusive` with
  canary requests, `more_minutes` known): its tests are valid at any number of looks, so the longer wait
  keeps their error rates, and a quiet agent's stage can decide instead of timing out.

Operator controls (`promote`, `abort`, `retry`, `pause`, `resume`) are applied once each, at the first
evaluation that sees them, and recorded in the history with who and when.

A widened tenant (a wave after the canary cohort, `planning.rollout.widening_waves`) starts `waiting`: weight
0, no look. It starts its own gated stages only once every tenant of the previous wave is `promoted`
(`wave_gate`); a fail or an abort there halts the widening, and it keeps waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

Phase = Literal["waiting", "progressing", "paused", "promoted", "failed", "aborted", "timed_out"]
Verdict = Literal["pass", "fail", "inconclusive", "error"]
ActionKind = Literal["promote", "abort", "retry", "pause", "resume"]
OnTimeout = Literal["hold", "fail"]
WaveStatus = Literal["open", "wait", "halt"]

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
    cap_seconds: float = 0.0
    """Past `max_seconds`, an undecided stage waits on, up to this long from its start, while the gate can
    still weigh evidence; 0 or at most `max_seconds`: no extension."""

    @property
    def longest_seconds(self) -> float:
        """The longest the stage can wait: its cap, or its maximum when it has none."""
        return max(self.max_seconds, self.cap_seconds)


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
    """started | wave | stage | hold | fail | abort | retry | pause | resume | promote | timed_out | refused"""
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


@dataclass(frozen=True)
class WaveGate:
    """Whether a widened tenant's wave may start, from the releases of the previous wave."""

    status: WaveStatus
    reason: str


def wave_gate(wave: int, version: str, previous: Mapping[str, Mapping[str, str]]) -> WaveGate:
    """Open once every tenant of wave `wave - 1` has promoted this version; halted by a fail or an abort there.

    `previous` maps each tenant of the previous wave to its release's `version` and `phase`. No tenant, or
    a state of another version (not yet replaced), waits: a wave never opens on evidence it has not seen.
    """
    before = f"wave {wave - 1}" if wave > 1 else "the canary cohort"
    if not previous:
        return WaveGate("wait", f"wave {wave} waits: {before} has no release state yet")
    stopped = sorted(
        t for t, r in previous.items() if r.get("version") == version and r.get("phase") in {"failed", "aborted"}
    )
    if stopped:
        which = ", ".join(f"{t} {previous[t]['phase']}" for t in stopped)
        return WaveGate("halt", f"wave {wave} halted: {before} did not promote {version} ({which})")
    pending = sorted(t for t, r in previous.items() if r.get("version") != version or r.get("phase") != "promoted")
    if pending:
        which = ", ".join(f"{t} {previous[t].get('phase') or 'not started'}" for t in pending)
        return WaveGate("wait", f"wave {wave} waits for {before} ({which})")
    return WaveGate("open", f"{before} promoted {version} ({', '.join(sorted(previous))})")


def start(version: str, stages: tuple[StagePlan, ...], now: str, wave: WaveGate | None = None) -> ReleaseState:
    """A new canary version starts at the first stage; its clock starts now. A widened tenant whose wave is
    not open yet starts `waiting` at weight 0."""
    if wave is not None and wave.status != "open":
        why = f"canary {version}; {wave.reason}"
        return ReleaseState(
            version, 0, 0, "waiting", now, hold_reason=wave.reason, history=(Event(now, "started", 0, 0, reason=why),)
        )
    first = stages[0].weight
    why = f"canary {version}" + (f"; {wave.reason}" if wave is not None else "")
    return ReleaseState(version, 0, first, "progressing", now, history=(Event(now, "started", 0, first, reason=why),))


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
    wave: WaveGate | None = None,
    more_minutes: float | None = None,
) -> ReleaseState:
    """The state after one evaluation. `verdict` is None when the gate was not looked at (`needs_look`).
    `wave` is given for a widened tenant only: whether its wave may start. `more_minutes`: the gate's
    estimate of how long the evidence it still needs takes at the current rate (None: it cannot say)."""
    nxt = _step(state, stages, verdict, report, control, now, on_timeout, reason, wave, more_minutes)
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
    wave: WaveGate | None,
    more_minutes: float | None,
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

    def wave_step(x: ReleaseState, retry_by: str = "", why: str = "") -> ReleaseState:
        """A widened tenant: its first stage once its wave is open, else weight 0 (`waiting`). A retry is
        recorded as such; otherwise the opening (`wave`) and each new reason to wait (`hold`) once."""
        assert wave is not None
        retry = bool(retry_by)
        if wave.status == "open":
            x = replace(x, stage=0, weight=stages[0].weight, phase="progressing", stage_started_at=now, hold_reason="")
            return log(x, "retry" if retry else "wave", why or wave.reason, retry_by)
        x = replace(x, stage=0, weight=0, phase="waiting", hold_reason=wave.reason)
        if retry:
            return log(replace(x, stage_started_at=now), "retry", why or wave.reason, retry_by)
        return log(x, "hold", wave.reason) if wave.reason != state.hold_reason else x

    if s.phase == "waiting":
        if pending is not None:
            if pending.action == "abort":
                return rolled_back(s, "aborted", "abort", pending.reason or f"aborted by {pending.by}", pending.by)
            s = log(s, "refused", f"{pending.action}: this tenant waits for its wave ({s.hold_reason})", pending.by)
        return wave_step(s) if wave is not None else s

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
            if wave is not None:
                return wave_step(s, who, why)
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
    # Undecided: hold the weight; past the stage's maximum the wait ends, or, with a cap, goes on to the cap
    # while the gate can still weigh evidence (inconclusive with canary traffic, not an error).
    current = stages[s.stage]
    limit, cap = current.max_seconds, current.longest_seconds
    why = reason or f"gate {verdict}"
    elapsed = elapsed_seconds(s, now)
    if elapsed >= limit:
        if elapsed < cap and verdict == "inconclusive" and more_minutes is not None:
            why = (
                f"stage {s.stage} extended past its {limit / 60:.0f}-minute maximum, up to {cap / 60:.0f} minutes: "
                "the gate's tests stay valid however long it looks"
            )
            return log(replace(s, hold_reason=why), "hold", why) if why != state.hold_reason else s
        ended = f"its cap of {cap / 60:.0f}" if limit < cap <= elapsed else "its maximum"
        why = f"stage {s.stage} undecided after {min(elapsed, cap) / 60:.0f} minutes ({ended}): {why}"
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
