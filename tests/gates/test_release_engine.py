"""Whole releases through the real Pulumi CLI and engine: one `pulumi up` per evaluation, the state between
them the engine's own (a file backend), against a real Prometheus whose data grows with the evaluations.

The program (written below into a project of the test's own) is the RolloutState and, beside it, another
resource of the same stack (a StageClock standing for "another change in the same up").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gates.stage_clock import format_time
from testing.engine_cli import ROOT, TOOLS_BIN, Engine
from tests.gates import test_release_loop as loop
from tests.gates.release_timeline import RELEASE_START

pytestmark = pytest.mark.engine
timeline = loop.timeline

PROGRAM = """
import json, os
import pulumi
from gates.rollout_state import RolloutState, RolloutStateArgs
from gates.stage_clock import FixedClock, StageClock, StageClockArgs
from planning.release import Control, StagePlan

config = pulumi.Config()
clock = FixedClock(os.environ["RELEASE_AT"])
control = json.loads(config.get("control") or "null")
state = RolloutState(
    "release",
    RolloutStateArgs(
        agent_id=config.require("agent"),
        tenant_id="acme",
        canary_version="2.1.0",
        stages=tuple(StagePlan(*s) for s in json.loads(config.require("stages"))),
        gate=json.loads(config.require("gate")),
        control=None if control is None else Control(**control),
    ),
    clock=clock,
)
other = StageClock(
    "other-change",
    StageClockArgs(agent_id="other", stage=int(config.get("other") or 0), canary_version="1"),
    clock=clock,
)
for key in ("stage", "weight", "phase", "verdict", "hold_reason", "history"):
    pulumi.export(key, getattr(state, key))
pulumi.export("other_applied_at", other.applied_at)
"""


class Project:
    def __init__(self, engine: Engine, folder: Path, url: str, agent_id: str):
        self.engine, self.folder = engine, folder
        folder.mkdir(parents=True)
        (folder / "Pulumi.yaml").write_text(
            "name: release-engine-test\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {ROOT / '.venv'}\n"
        )
        (folder / "__main__.py").write_text(PROGRAM)
        self.run("stack", "init", folder.name)  # one backend for the module: a stack per test
        self.config("agent", agent_id)
        self.config("stages", json.dumps([[s.weight, s.min_seconds, s.max_seconds] for s in loop.STAGES]))
        self.config("gate", json.dumps(loop.gate(url, agent_id)))

    def run(self, *args: str, check: bool = True, minute: float = 0):
        at = format_time(RELEASE_START + timedelta(minutes=minute))
        return self.engine.run(self.folder, *args, check=check, env={"PYTHONPATH": str(ROOT), "RELEASE_AT": at})

    def config(self, key: str, value: str) -> None:
        self.run("config", "set", key, value)

    def up(self, minute: float) -> dict[str, Any]:
        self.run("up", "--yes", "--skip-preview", minute=minute)
        return json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if not (TOOLS_BIN / "pulumi").exists() or not (TOOLS_BIN / "pulumi-resource-pulumi-python").exists():
        pytest.fail("the Pulumi CLI is not built: run ./scripts/build-pulumi-tools.sh")
    e = Engine(tmp_path_factory.mktemp("release-engine"))
    e.run(e.workdir, "login", f"file://{e.backend}")
    yield e


def test_a_healthy_release_goes_5_25_50_100_through_successive_ups(engine, timeline, tmp_path) -> None:
    project = Project(engine, tmp_path / "healthy", timeline.url, "release-healthy")
    weights = []
    for minute in range(0, 85, 5):
        out = project.up(minute)
        if not weights or weights[-1] != out["weight"]:
            weights.append(out["weight"])
    assert weights == [5, 25, 50, 100]
    assert out["phase"] == "promoted"


def test_a_regression_at_25_is_weight_0_in_the_up_that_sees_it(engine, timeline, tmp_path) -> None:
    project = Project(engine, tmp_path / "regression", timeline.url, "release-regression")
    seen = [(m, project.up(m)) for m in range(0, 65, 5)]
    failed = next(m for m, o in seen if o["phase"] == "failed")
    before = dict(seen)[failed - 5]
    assert before["weight"] == 25 and dict(seen)[failed]["weight"] == 0
    assert all(o["weight"] == 0 for m, o in seen if m >= failed)


def test_a_hold_does_not_fail_the_up_and_the_other_change_applies(engine, timeline, tmp_path) -> None:
    project = Project(engine, tmp_path / "hold", timeline.url, "release-quiet")
    first = project.up(0)
    project.config("other", "1")
    held = project.up(10)
    assert held["weight"] == 5 and held["verdict"] == "inconclusive" and held["phase"] == "progressing"
    assert held["other_applied_at"] != first["other_applied_at"], "the other change in the same up applied"


def test_abort_and_retry_through_config(engine, timeline, tmp_path) -> None:
    project = Project(engine, tmp_path / "abort", timeline.url, "release-healthy")
    for minute in range(0, 35, 5):
        out = project.up(minute)
    assert out["weight"] == 25
    project.config("control", json.dumps({"action": "abort", "by": "alice", "at": "2025-03-03T08:36:00Z"}))
    aborted = project.up(36)
    assert (aborted["weight"], aborted["phase"]) == (0, "aborted")
    project.config("control", json.dumps({"action": "retry", "by": "bob", "at": "2025-03-03T08:40:00Z"}))
    retried = project.up(40)
    assert (retried["stage"], retried["weight"], retried["phase"]) == (0, 5, "progressing")
    assert [(e["event"], e["by"]) for e in retried["history"] if e["by"]] == [("abort", "alice"), ("retry", "bob")]


WAVES_PROGRAM = """
import json, os
import pulumi
from gates.rollout_state import RolloutState, RolloutStateArgs
from gates.stage_clock import FixedClock
from planning.release import StagePlan

config = pulumi.Config()
clock = FixedClock(os.environ["RELEASE_AT"])
gate = json.loads(config.require("gate"))
previous = None
for wave, (tenant, stages) in enumerate(json.loads(config.require("waves"))):
    after = None
    if previous is not None:
        after = pulumi.Output.all(previous[0], previous[1].version, previous[1].phase).apply(
            lambda v: {v[0]: {"version": v[1], "phase": v[2]}}
        )
    state = RolloutState(
        f"release-{tenant}",
        RolloutStateArgs(
            agent_id=config.require("agent"),
            tenant_id=tenant,
            canary_version="2.1.0",
            stages=tuple(StagePlan(*s) for s in stages),
            gate={**gate, "tenant_id": tenant},
            wave=wave,
            after=after,
        ),
        clock=clock,
    )
    previous = (tenant, state)
    for key in ("phase", "weight", "hold_reason"):
        pulumi.export(f"{tenant}_{key}", getattr(state, key))
"""


def test_waves_open_in_the_up_in_which_the_previous_wave_promoted(engine, timeline, tmp_path) -> None:
    """The engine's own ordering and state: a wave's state takes the previous wave's outputs of the same `up`."""
    project = Project(engine, tmp_path / "waves", timeline.url, "release-waves")
    (project.folder / "__main__.py").write_text(WAVES_PROGRAM)
    cohort = [[s.weight, s.min_seconds, s.max_seconds] for s in loop.STAGES]
    wave = [[s.weight, s.min_seconds, s.max_seconds] for s in loop.WAVE_STAGES]
    project.config("waves", json.dumps([["acme", cohort], ["globex", wave], ["initech", wave]]))
    seen = [(m, project.up(m)) for m in range(0, 160, 5)]
    promoted = next(m for m, o in seen if o["acme_phase"] == "promoted")
    opened = next(m for m, o in seen if o["globex_phase"] != "waiting")
    assert opened == promoted, "the wave opens in the same up"
    assert all(o["globex_weight"] == 0 and o["initech_weight"] == 0 for m, o in seen if m < promoted)
    assert seen[-1][1]["globex_phase"] == "promoted" and seen[-1][1]["initech_phase"] == "promoted"
