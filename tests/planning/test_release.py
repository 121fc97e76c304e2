"""The release state machine: properties over many random sequences of verdicts and controls, then cases."""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta

import pytest

from planning.release import (
    ACTIONS,
    SETTLED,
    Control,
    ReleaseState,
    SkippedStageError,
    StagePlan,
    WaveGate,
    check_transition,
    needs_look,
    start,
    step,
    wave_gate,
)

STAGES = (StagePlan(5, 600, 2400), StagePlan(25, 1200, 4800), StagePlan(50, 1800, 7200), StagePlan(100, 0, 1))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
VERDICTS = ("pass", "fail", "inconclusive", "error")


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def control(action: str, minute: float, by: str = "alice") -> Control:
    return Control(action, by, at(minute))  # type: ignore[arg-type]


def run(seed: int, length: int = 60):
    """A random walk: each evaluation a random verdict and sometimes a new operator action."""
    rng = random.Random(seed)
    state = start("1.5.0", STAGES, at(0))
    trail = [(state, None, None)]
    current: Control | None = None
    minute = 0.0
    for i in range(1, length):
        minute += rng.choice([1, 5, 15, 60])
        if rng.random() < 0.15:
            current = control(rng.choice(ACTIONS), minute + i / 100, rng.choice(["alice", "bob"]))
        verdict = rng.choice(VERDICTS) if needs_look(state, STAGES) else None
        nxt = step(state, STAGES, verdict, "report", current, at(minute + i / 100), rng.choice(["hold", "fail"]))
        trail.append((nxt, verdict, current))
        state = nxt
    return trail


SEEDS = range(300)


@pytest.mark.parametrize("seed", SEEDS[:1])
def test_a_walk_is_reproducible(seed: int) -> None:
    assert run(seed) == run(seed)


@functools.cache
def all_walks() -> tuple:
    return tuple(pair for seed in SEEDS for pair in zip(run(seed), run(seed)[1:], strict=False))


def walks():
    return all_walks()


def test_a_stage_moves_by_at_most_one_and_only_back_to_the_first() -> None:
    for (before, _, _), (after, _, _) in walks():
        moved = after.stage - before.stage
        assert moved <= 1
        assert moved >= 0 or after.stage == 0


def test_a_fail_sets_the_weight_to_0_in_the_same_evaluation_and_it_stays_0_until_a_retry() -> None:
    seen = 0
    for (before, _, _), (after, verdict, ctl) in walks():
        if verdict == "fail":
            seen += 1
            assert after.weight == 0 and after.phase == "failed"
        if before.phase in {"failed", "aborted"} and after.weight != 0:
            assert ctl is not None and ctl.action == "retry" and after.history[-1].event == "retry"
    assert seen > 50


def test_only_a_pass_or_an_operators_promote_moves_forward() -> None:
    for (before, _, _), (after, verdict, ctl) in walks():
        if after.stage > before.stage:
            promoted = ctl is not None and ctl.action == "promote" and after.history[-1].by == ctl.by
            assert verdict == "pass" or promoted
            assert verdict not in {"fail", "error"}


def test_undecided_never_promotes_and_never_rolls_back() -> None:
    for (before, _, _), (after, verdict, ctl) in walks():
        if verdict in {"inconclusive", "error"} and (ctl is None or ctl.key == before.applied_control):
            assert after.stage == before.stage
            assert after.weight == before.weight or after.phase == "failed"  # on_timeout: fail


def test_the_weight_is_always_the_stages_or_0() -> None:
    for _, (after, _, _) in walks():
        assert after.weight in {0, STAGES[after.stage].weight}


def test_every_control_is_applied_once_and_recorded_with_who_and_when() -> None:
    for (before, _, _), (after, _, ctl) in walks():
        new = ctl is not None and ctl.key != before.applied_control
        by_operator = [e for e in after.history[len(before.history) :] if e.by]
        if new:
            assert after.applied_control == ctl.key
            assert [e.by for e in by_operator] == [ctl.by], after.history[-2:]
        elif len(after.history) < 50:
            assert not by_operator


def test_a_settled_release_is_not_looked_at() -> None:
    for _, (after, _, _) in walks():
        if after.phase in SETTLED:
            assert not needs_look(after, STAGES)


def healthy(state: ReleaseState, minute: float, ctl: Control | None = None, verdict: str = "pass") -> ReleaseState:
    return step(state, STAGES, verdict if needs_look(state, STAGES) else None, "", ctl, at(minute))  # type: ignore[arg-type]


def test_passes_walk_5_25_50_100_and_promote() -> None:
    state = start("1.5.0", STAGES, at(0))
    weights = [state.weight]
    for minute in (10, 30, 60):
        state = healthy(state, minute)
        weights.append(state.weight)
    assert weights == [5, 25, 50, 100]
    assert state.phase == "promoted"
    assert [e.event for e in state.history] == ["started", "stage", "stage", "promote"]
    assert state.stage_started_at == at(60)


def test_a_hold_keeps_the_weight_and_records_a_changed_reason_once() -> None:
    state = healthy(start("1.5.0", STAGES, at(0)), 10)
    held = step(state, STAGES, "inconclusive", "r", None, at(15), reason="not enough evidence yet")
    again = step(held, STAGES, "inconclusive", "r", None, at(20), reason="not enough evidence yet")
    other = step(again, STAGES, "error", "r", None, at(25), reason="canary: no series")
    assert (held.weight, held.phase, held.hold_reason) == (25, "progressing", "not enough evidence yet")
    assert [e.event for e in other.history].count("hold") == 2
    assert other.hold_reason == "canary: no series" and other.weight == 25


@pytest.mark.parametrize(("policy", "phase", "weight"), [("hold", "timed_out", 25), ("fail", "failed", 0)])
def test_past_its_maximum_a_stage_ends(policy: str, phase: str, weight: int) -> None:
    state = healthy(start("1.5.0", STAGES, at(0)), 10)
    before = step(state, STAGES, "inconclusive", "", None, at(10 + 79), policy)  # type: ignore[arg-type]
    ended = step(before, STAGES, "inconclusive", "", None, at(10 + 80), policy)  # type: ignore[arg-type]
    assert before.phase == "progressing"
    assert (ended.phase, ended.weight) == (phase, weight)
    assert "its maximum" in ended.hold_reason
    # Held, it is still watched (its canary serves): a later fail rolls it back, a pass no longer promotes.
    assert needs_look(ended, STAGES) == (policy == "hold")
    if policy == "hold":
        assert step(ended, STAGES, "pass", "", None, at(100)).stage == 1
        assert step(ended, STAGES, "fail", "", None, at(100)).weight == 0


def test_abort_then_retry_starts_again_at_the_first_stage() -> None:
    state = healthy(healthy(start("1.5.0", STAGES, at(0)), 10), 30)
    aborted = healthy(state, 31, control("abort", 31, "bob"))
    held = healthy(aborted, 40, control("abort", 31, "bob"))
    retried = healthy(held, 50, control("retry", 50, "carol"), verdict="inconclusive")
    assert (aborted.weight, aborted.phase) == (0, "aborted")
    assert held == aborted.__class__(**{**aborted.__dict__, "evaluated_at": at(40)})
    assert (retried.stage, retried.weight, retried.phase, retried.stage_started_at) == (0, 5, "progressing", at(50))
    assert [(e.event, e.by) for e in retried.history[-2:]] == [("abort", "bob"), ("retry", "carol")]


def test_promote_skips_the_wait_but_not_a_fail_or_an_error() -> None:
    state = start("1.5.0", STAGES, at(0))
    early = healthy(state, 2, control("promote", 2), verdict="inconclusive")
    assert (early.stage, early.weight, early.history[-1].by) == (1, 25, "alice")
    refused = healthy(early, 3, control("promote", 3), verdict="error")
    assert refused.stage == 1 and refused.history[-1].event == "refused"
    failed = healthy(early, 4, control("promote", 4), verdict="fail")
    assert (failed.weight, failed.phase) == (0, "failed")


def test_pause_stops_promotion_but_a_fail_still_rolls_back() -> None:
    state = healthy(start("1.5.0", STAGES, at(0)), 2, control("pause", 2))
    assert state.phase == "paused"
    assert healthy(state, 30, control("pause", 2)).stage == 0
    assert healthy(state, 31, control("pause", 2), verdict="fail").weight == 0
    resumed = healthy(state, 32, control("resume", 32))
    assert (resumed.phase, resumed.stage) == ("progressing", 1)


def test_a_stage_change_that_skips_is_refused() -> None:
    state = start("1.5.0", STAGES, at(0))
    skipped = ReleaseState(**{**state.__dict__, "stage": 2, "weight": 50})
    with pytest.raises(SkippedStageError, match="one stage per evaluation"):
        check_transition(state, skipped, STAGES)
    with pytest.raises(SkippedStageError, match="weight 40"):
        check_transition(state, ReleaseState(**{**state.__dict__, "weight": 40}), STAGES)
    check_transition(state, ReleaseState(**{**state.__dict__, "stage": 1, "weight": 25}), STAGES)


def test_the_state_survives_its_outputs() -> None:
    state = healthy(healthy(start("1.5.0", STAGES, at(0)), 2, control("pause", 2, "dan")), 5)
    assert ReleaseState.from_outputs(state.as_outputs()) == state


def test_a_promote_that_names_a_later_stage_is_refused() -> None:
    state = start("1.5.0", STAGES, at(0))
    skip = healthy(state, 1, Control("promote", "erin", at(1), stage=2), verdict="inconclusive")
    assert skip.stage == 0 and skip.history[-1].event == "refused"
    ok = healthy(skip, 2, Control("promote", "erin", at(2), stage=1), verdict="inconclusive")
    assert ok.stage == 1


def test_the_stack_policy_gives_each_stage_its_wait_and_its_maximum() -> None:
    from planning.rollout import release_stages
    from settings.canary import CanaryPolicy

    policy = CanaryPolicy(weights=[0, 5, 25, 50, 100], shadow_duration="30m", max_duration_factor=4)
    stages = release_stages(policy)
    assert {s.cap_seconds for s in stages[:-1]} == {4 * 3600}, "canary.extended_max_duration, above every maximum"
    assert [(s.weight, s.min_seconds, s.max_seconds) for s in stages] == [
        (0, 1800, 7200),
        (5, 600, 2400),
        (25, 1200, 4800),
        (50, 1800, 7200),
        (100, 0, 1),
    ]


WAVE_STAGES = (StagePlan(25, 900, 3600), StagePlan(100, 0, 1))


def phases(**by_tenant: str) -> dict[str, dict[str, str]]:
    return {t: {"version": "1.5.0", "phase": p} for t, p in by_tenant.items()}


def test_a_wave_opens_only_when_every_tenant_of_the_previous_one_promoted_this_version() -> None:
    assert wave_gate(1, "1.5.0", phases(acme="promoted", globex="promoted")).status == "open"
    waiting = wave_gate(1, "1.5.0", phases(acme="promoted", globex="timed_out"))
    assert waiting.status == "wait" and "globex timed_out" in waiting.reason
    halted = wave_gate(2, "1.5.0", phases(acme="promoted", globex="failed"))
    assert halted.status == "halt" and "wave 1" in halted.reason and "globex failed" in halted.reason
    stale = {"acme": {"version": "1.4.9", "phase": "promoted"}}
    assert wave_gate(1, "1.5.0", stale).status == "wait", "another version's promotion is not this one's evidence"
    assert wave_gate(1, "1.5.0", {}).status == "wait", "no evidence never opens a wave"


def widened(minute: float, gate: WaveGate, state: ReleaseState | None = None, **kw) -> ReleaseState:
    if state is None:
        return start("1.5.0", WAVE_STAGES, at(minute), gate)
    verdict = kw.pop("verdict", "pass") if needs_look(state, WAVE_STAGES) else None
    return step(state, WAVE_STAGES, verdict, "", kw.pop("ctl", None), at(minute), wave=gate)


WAIT = WaveGate("wait", "wave 1 waits for the canary cohort (acme progressing)")
OPEN = WaveGate("open", "the canary cohort promoted 1.5.0 (acme)")
HALT = WaveGate("halt", "wave 1 halted: the canary cohort did not promote 1.5.0 (acme failed)")


def test_a_widened_tenant_waits_at_weight_0_without_looking_then_runs_its_own_gated_stages() -> None:
    state = widened(0, WAIT)
    assert (state.phase, state.weight, state.hold_reason) == ("waiting", 0, WAIT.reason)
    assert not needs_look(state, WAVE_STAGES) and not state.shadow
    again = widened(5, WAIT, state)
    assert again.history == state.history, "the same reason to wait is recorded once"
    opened = widened(60, OPEN, again)
    assert (opened.phase, opened.stage, opened.weight, opened.stage_started_at) == ("progressing", 0, 25, at(60))
    assert opened.history[-1].event == "wave" and needs_look(opened, WAVE_STAGES)
    promoted = widened(80, OPEN, opened)
    assert (promoted.phase, promoted.weight) == ("promoted", 100)


def test_a_halted_wave_keeps_waiting_and_an_abort_or_a_retry_keeps_it_behind_its_wave() -> None:
    state = widened(5, HALT, widened(0, WAIT))
    assert (state.phase, state.weight, state.history[-1].event) == ("waiting", 0, "hold")
    assert "halted" in state.hold_reason
    refused = widened(6, HALT, state, ctl=control("promote", 6))
    assert (refused.phase, refused.history[-1].event) == ("waiting", "refused")
    aborted = widened(7, HALT, refused, ctl=control("abort", 7, "bob"))
    assert (aborted.phase, aborted.weight) == ("aborted", 0)
    retried = widened(8, WAIT, aborted, ctl=control("retry", 8, "carol"))
    assert (retried.phase, retried.weight, retried.history[-1].event) == ("waiting", 0, "retry")
    # A retry after a fail in its own stages waits again if its wave closed meanwhile, else starts again.
    failed = widened(30, OPEN, widened(20, OPEN, retried), verdict="fail")
    assert (failed.phase, failed.weight) == ("failed", 0)
    assert widened(31, OPEN, failed, ctl=control("retry", 31)).weight == 25
    assert widened(31, HALT, failed, ctl=control("retry", 31)).phase == "waiting"


def test_a_widened_tenant_can_only_come_out_of_waiting_at_its_first_stage() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        state = widened(0, WAIT)
        for i in range(1, 40):
            gate = rng.choice([WAIT, OPEN, HALT])
            ctl = control(rng.choice(ACTIONS), i, "x") if rng.random() < 0.2 else None
            nxt = widened(i, gate, state, ctl=ctl, verdict=rng.choice(VERDICTS))
            if state.phase == "waiting" and nxt.phase != "waiting":
                assert nxt.phase == "aborted" or (gate is OPEN and nxt.stage == 0), (state, nxt)
            if nxt.phase == "waiting":
                assert nxt.weight == 0 and gate is not OPEN
            state = nxt


CAPPED = tuple(StagePlan(s.weight, s.min_seconds, s.max_seconds, 4 * 3600 if s.weight < 100 else 0) for s in STAGES)


def undecided(state: ReleaseState, minute: float, verdict: str = "inconclusive", more: float | None = 30.0):
    return step(state, CAPPED, verdict, "", None, at(minute), reason="not enough evidence yet", more_minutes=more)  # type: ignore[arg-type]


def test_past_its_maximum_a_capped_stage_waits_on_while_the_gate_can_weigh_evidence() -> None:
    """The gate's tests are anytime-valid: looking on past the maximum keeps its error rates."""
    state = start("1.5.0", CAPPED, at(0))
    extended = undecided(undecided(state, 40), 60)
    assert (extended.phase, extended.weight) == ("progressing", 5)
    assert "extended past its 40-minute maximum, up to 240 minutes" in extended.hold_reason
    assert [e.event for e in extended.history].count("hold") == 1, "recorded (and told) once"
    passed = step(extended, CAPPED, "pass", "", None, at(200), more_minutes=None)
    assert (passed.stage, passed.weight) == (1, 25)
    capped = undecided(extended, 240)
    assert (capped.phase, capped.weight) == ("timed_out", 5) and "(its cap of 240)" in capped.hold_reason
    assert step(extended, CAPPED, "fail", "", None, at(100)).weight == 0, "a fail still rolls back meanwhile"


@pytest.mark.parametrize(
    ("verdict", "more"),
    [("error", None), ("inconclusive", None)],
    ids=["prometheus unreachable", "no canary requests to weigh"],
)
def test_a_capped_stage_that_cannot_weigh_evidence_ends_at_its_maximum(verdict: str, more: float | None) -> None:
    ended = undecided(start("1.5.0", CAPPED, at(0)), 40, verdict, more)
    assert ended.phase == "timed_out" and "(its maximum)" in ended.hold_reason
