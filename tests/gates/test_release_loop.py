"""Whole releases through successive evaluations: RolloutState in the SDK's dynamic-provider host, over gRPC
the way the engine calls it (Check, Diff, then Create or Update by the diff's answer), against a real
Prometheus whose data grows as the evaluations move through the day.

Between evaluations the only state is what the host returned, serialised to the engine's protobuf form and
back: what the engine would store. The engine's rule relied on (pulumi/pulumi pkg/resource/deploy/step_generator.go):
DIFF_NONE is a same step with no provider call; DIFF_SOME with `replaces` is Create of a new resource;
DIFF_SOME without replaces is Update with the stored outputs as `olds`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from gates.pickling import serialize_provider
from gates.rollout_state import STATE_KEYS, RolloutStateArgs, RolloutStateProvider
from gates.stage_clock import FixedClock, format_time, parse_time
from planning.release import Control, StagePlan
from testing.prometheus_server import PrometheusServer, free_port
from tests.gates import test_engine_protocol as protocol
from tests.gates.release_timeline import CANARY, RELEASE_START, RELEASES, STABLE, openmetrics
from tests.gates.scenarios import NAMESPACE, TENANT
from tests.gates.test_engine_protocol import from_struct, to_struct

URN = "urn:pulumi:dev::agent-platform::pulumi-python:dynamic/agent-platform:RolloutState::support-bot-release"
STAGES = (StagePlan(5, 600, 2400), StagePlan(25, 1200, 4800), StagePlan(50, 1800, 7200), StagePlan(100, 0, 1))
EVERY = timedelta(minutes=5)
host = protocol.host  # the SDK's dynamic-provider host, as a module fixture


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("release-timeline"), openmetrics(RELEASES))
    server.start()
    yield server
    server.stop()


def gate(url: str, agent_id: str, tenant: str = TENANT) -> dict[str, Any]:
    return {
        "prometheus_url": url,
        "namespace": NAMESPACE,
        "agent_id": agent_id,
        "tenant_id": tenant,
        "stable_version": STABLE,
        "canary_version": CANARY,
        "query_timeout_seconds": 5,
        "deadline_seconds": 20,
        "retries": 0,
    }


class Engine:
    """Stores what the host returns and calls it the way the engine does, one `up` per `evaluate`."""

    def __init__(
        self,
        host,
        url: str,
        agent_id: str,
        tenant: str = TENANT,
        stages: tuple[StagePlan, ...] = STAGES,
        wave: int = 0,
    ):
        self.host, self.url, self.agent_id = host, url, agent_id
        self.tenant, self.stages, self.wave = tenant, stages, wave
        self.after: dict[str, Any] | None = None
        self.urn = URN.replace("::support-bot-release", f"::{tenant}-support-bot-release")
        self.id = ""
        self.state: dict[str, Any] = {}
        self.control: Control | None = None
        self.calls: list[str] = []

    def news(self, minute: float) -> dict[str, Any]:
        clock = FixedClock(format_time(RELEASE_START + timedelta(minutes=minute)))
        args = RolloutStateArgs(
            agent_id=self.agent_id,
            tenant_id=self.tenant,
            canary_version=CANARY,
            stages=self.stages,
            gate=gate(self.url, self.agent_id, self.tenant),
            control=self.control,
            wave=self.wave,
            after=self.after,
        )
        provider = serialize_provider(RolloutStateProvider(clock))
        return {**args.props(), **dict.fromkeys(STATE_KEYS), "__provider": provider}

    def evaluate(self, minute: float) -> dict[str, Any]:
        news = self.news(minute)
        checked = self.host.Check(
            provider_pb2.CheckRequest(urn=self.urn, olds=to_struct(self.state), news=to_struct(news))
        )
        assert not checked.failures, checked.failures
        if not self.id:
            created = self.host.Create(provider_pb2.CreateRequest(urn=self.urn, properties=checked.inputs))
            self.id, self.state = created.id, from_struct(created.properties)
            self.calls.append("create")
            return self.state
        diff = self.host.Diff(
            provider_pb2.DiffRequest(id=self.id, urn=self.urn, olds=to_struct(self.state), news=checked.inputs)
        )
        if diff.changes != provider_pb2.DiffResponse.DIFF_SOME:
            self.calls.append("same")
            return self.state
        assert not diff.replaces, diff.replaces
        request = provider_pb2.UpdateRequest(id=self.id, urn=self.urn, olds=to_struct(self.state), news=checked.inputs)
        self.state = from_struct(self.host.Update(request).properties)
        self.calls.append("update")
        return self.state

    def run(self, first: float, last: float) -> list[tuple[float, dict[str, Any]]]:
        seen, minute = [], first
        while minute <= last:
            seen.append((minute, dict(self.evaluate(minute))))
            minute += EVERY.total_seconds() / 60
        return seen


def weights(seen: list[tuple[float, dict[str, Any]]]) -> list[int]:
    out: list[int] = []
    for _, s in seen:
        if not out or out[-1] != int(s["weight"]):
            out.append(int(s["weight"]))
    return out


def test_a_healthy_release_walks_to_100_with_no_change_of_inputs(host, timeline) -> None:
    engine = Engine(host, timeline.url, "release-healthy")
    seen = engine.run(0, 200)
    assert weights(seen) == [5, 25, 50, 100]
    assert seen[-1][1]["phase"] == "promoted"
    stages = [int(s["stage"]) for _, s in seen]
    assert all(b - a in (0, 1) for a, b in itertools.pairwise(stages))
    # Each pass only after its stage's minimum, counted from that stage's own start.
    moves = [e for e in seen[-1][1]["history"] if e["event"] in {"started", "stage", "promote"}]
    assert [int(e["stage"]) for e in moves] == [0, 1, 2, 3]
    for entered, left in itertools.pairwise(moves):
        held = (parse_time(left["at"]) - parse_time(entered["at"])).total_seconds()
        assert held >= STAGES[int(entered["stage"])].min_seconds
    # Settled: no more looks, the engine sees no change.
    assert engine.calls[-3:] == ["same", "same", "same"]


def test_a_regression_at_25_sets_weight_0_in_the_evaluation_that_sees_it(host, timeline) -> None:
    engine = Engine(host, timeline.url, "release-regression")
    seen = engine.run(0, 120)
    at_25 = [m for m, s in seen if int(s["weight"]) == 25]
    assert at_25 and at_25[0] < 40, "the release must reach 25% before the regression starts at minute 40"
    failed = next((m, s) for m, s in seen if s["phase"] == "failed")
    before = next(s for m, s in seen if m == failed[0] - 5)
    assert int(before["weight"]) == 25 and before["verdict"] != "fail"
    assert int(failed[1]["weight"]) == 0 and failed[1]["verdict"] == "fail"
    assert "error" in failed[1]["report"].lower()
    assert all(int(s["weight"]) == 0 for m, s in seen if m >= failed[0])
    assert failed[0] - 40 <= 30, f"weight 0 only {failed[0] - 40} minutes after the regression began"


def test_an_unreachable_prometheus_holds_without_failing_the_call(host, timeline) -> None:
    engine = Engine(host, f"http://127.0.0.1:{free_port()}", "release-healthy")
    seen = engine.run(0, 30)
    assert weights(seen) == [5]
    assert seen[-1][1]["phase"] == "progressing"
    assert seen[-1][1]["verdict"] == "error"
    assert "could not evaluate" in seen[-1][1]["hold_reason"]
    assert engine.calls.count("update") == len(seen) - 1


def test_an_undecided_stage_ends_at_its_maximum_with_a_hold(host, timeline) -> None:
    engine = Engine(host, timeline.url, "release-quiet")
    seen = engine.run(0, 45)
    phases = [s["phase"] for _, s in seen]
    assert phases[-1] == "timed_out", seen[-1][1]["hold_reason"]
    assert int(seen[-1][1]["weight"]) == 5
    assert "its maximum" in seen[-1][1]["hold_reason"]
    assert {s["verdict"] for _, s in seen[1:-1]} == {"inconclusive"}
    # Still watched after it ends (its canary serves), with one timeout event, not one per look.
    later = engine.run(50, 60)
    assert {s["phase"] for _, s in later} == {"timed_out"} and engine.calls[-1] == "update"
    assert [e["event"] for e in later[-1][1]["history"]].count("timed_out") == 1


def test_abort_and_retry_take_effect_at_the_next_evaluation(host, timeline) -> None:
    engine = Engine(host, timeline.url, "release-healthy")
    engine.run(0, 30)
    assert int(engine.state["weight"]) == 25
    engine.control = Control("abort", "alice@example.com", "2025-03-03T08:32:00Z", "customer report")
    aborted = engine.evaluate(35)
    assert (int(aborted["weight"]), aborted["phase"]) == (0, "aborted")
    assert engine.evaluate(40)["phase"] == "aborted" and engine.calls[-1] == "same"
    engine.control = Control("retry", "bob@example.com", "2025-03-03T08:41:00Z")
    retried = engine.evaluate(45)
    assert (int(retried["stage"]), int(retried["weight"]), retried["phase"]) == (0, 5, "progressing")
    who = [(e["event"], e["by"], e["at"]) for e in retried["history"] if e["by"]]
    assert who == [
        ("abort", "alice@example.com", "2025-03-03T08:35:00Z"),
        ("retry", "bob@example.com", "2025-03-03T08:45:00Z"),
    ]
    assert retried["stage_started_at"] == "2025-03-03T08:45:00Z"


def test_a_promote_that_skips_a_stage_is_refused_and_recorded(host, timeline) -> None:
    engine = Engine(host, timeline.url, "release-healthy")
    engine.evaluate(0)
    engine.control = Control("promote", "carol@example.com", "2025-03-03T08:02:00Z", stage=2)
    refused = engine.evaluate(5)
    assert (int(refused["stage"]), int(refused["weight"])) == (0, 5)
    assert refused["history"][-1]["event"] == "refused" and refused["history"][-1]["by"] == "carol@example.com"
    assert "moves one at a time" in refused["history"][-1]["reason"]
    engine.control = Control("promote", "carol@example.com", "2025-03-03T08:06:00Z", stage=1)
    promoted = engine.evaluate(6)
    assert (int(promoted["stage"]), int(promoted["weight"])) == (1, 25)


WAVE_STAGES = (StagePlan(25, 900, 3600), StagePlan(100, 0, 1))


def widening(host, url: str, agent_id: str) -> list[Engine]:
    """The cohort (this tenant) and two waves of one tenant each, the way the stack wires them."""
    return [
        Engine(host, url, agent_id),
        Engine(host, url, agent_id, "globex", WAVE_STAGES, wave=1),
        Engine(host, url, agent_id, "initech", WAVE_STAGES, wave=2),
    ]


def evaluate_all(engines: list[Engine], minute: float) -> list[dict[str, Any]]:
    """One `up`: each wave's state after the previous wave's, taking its outputs of this same `up`."""
    seen = []
    for previous, engine in zip([None, *engines], engines, strict=False):
        if previous is not None:
            engine.after = {previous.tenant: {"version": previous.state["version"], "phase": previous.state["phase"]}}
        seen.append(dict(engine.evaluate(minute)))
    return seen


def run_all(engines: list[Engine], last: float) -> list[tuple[float, list[dict[str, Any]]]]:
    return [(m, evaluate_all(engines, m)) for m in range(0, int(last) + 1, 5)]


def test_a_healthy_release_widens_wave_by_wave_each_after_the_previous_promoted(host, timeline) -> None:
    engines = widening(host, timeline.url, "release-waves")
    seen = run_all(engines, 235)
    final = seen[-1][1]
    assert [s["phase"] for s in final] == ["promoted"] * 3, [s["hold_reason"] for s in final]
    promoted_at = [next(m for m, states in seen if states[i]["phase"] == "promoted") for i in range(3)]
    opened_at = [next(m for m, states in seen if states[i]["phase"] != "waiting") for i in range(3)]
    assert promoted_at[0] <= opened_at[1] and promoted_at[1] <= opened_at[2], (promoted_at, opened_at)
    assert opened_at[1] == promoted_at[0], "a wave opens in the `up` in which the previous one promoted"
    for i in (1, 2):
        before = [states[i] for m, states in seen if m < opened_at[i]]
        assert before and all((s["phase"], int(s["weight"])) == ("waiting", 0) for s in before)
        assert all(not s["verdict"] for s in before), "a waiting tenant never looks at the gate"
        moves = [e["event"] for e in final[i]["history"] if e["event"] in {"started", "wave", "stage", "promote"}]
        assert moves == ["started", "wave", "promote"]
        # Its own gated stage: the 25% stage waited for its minimum before its gate passed.
        wave_event = next(e for e in final[i]["history"] if e["event"] == "wave")
        promote = next(e for e in final[i]["history"] if e["event"] == "promote")
        assert (parse_time(promote["at"]) - parse_time(wave_event["at"])).total_seconds() >= WAVE_STAGES[0].min_seconds


def test_a_regression_in_a_wave_sets_its_weight_0_and_halts_the_waves_after_it(host, timeline) -> None:
    engines = widening(host, timeline.url, "release-waves-regression")
    seen = run_all(engines, 200)
    cohort, wave1, wave2 = seen[-1][1]
    assert cohort["phase"] == "promoted"
    assert (wave1["phase"], int(wave1["weight"]), wave1["verdict"]) == ("failed", 0, "fail")
    assert (wave2["phase"], int(wave2["weight"])) == ("waiting", 0)
    assert "halted" in wave2["hold_reason"] and "globex failed" in wave2["hold_reason"]
    assert all(int(states[2]["weight"]) == 0 for _, states in seen), "the wave after a fail never serves"
    opened = next(m for m, states in seen if states[1]["phase"] != "waiting")
    failed = next(m for m, states in seen if states[1]["phase"] == "failed")
    assert failed - opened <= 30, f"the wave's canary served {failed - opened} minutes before weight 0"
    # An operator's abort, applied to every tenant of the agent, rolls the promoted cohort back too.
    for engine in engines:
        engine.control = Control("abort", "alice@example.com", "2025-03-03T11:21:00Z", "globex regression")
    aborted = evaluate_all(engines, 205)
    assert [(s["phase"], int(s["weight"])) for s in aborted] == [("aborted", 0), ("failed", 0), ("aborted", 0)]


def test_a_stage_past_its_maximum_decides_within_its_cap_and_times_out_without_one(host, timeline) -> None:
    """A 2-minute maximum the healthy canary cannot meet: capped at an hour it passes on its evidence, as
    the anytime-valid gate allows; uncapped it ends `timed_out` at the first look past its maximum."""
    short = (StagePlan(5, 60, 120, 3600), *STAGES[1:])
    capped = Engine(host, timeline.url, "release-healthy", stages=short)
    seen = capped.run(0, 60)
    holds = [e for e in seen[-1][1]["history"] if e["event"] == "hold" and "extended past" in e["reason"]]
    assert len(holds) == 1 and int(holds[0]["stage"]) == 0
    moved = next(e for e in seen[-1][1]["history"] if e["event"] == "stage")
    assert parse_time(moved["at"]) - RELEASE_START > timedelta(minutes=2), "it passed after its maximum"
    assert all(s["phase"] != "timed_out" for _, s in seen)
    uncapped = Engine(host, timeline.url, "release-healthy", stages=(StagePlan(5, 60, 120), *STAGES[1:]))
    ended = uncapped.run(0, 10)
    assert ended[1][1]["phase"] == "timed_out" and int(ended[-1][1]["weight"]) == 5
