"""The SLO gate and the stage clock through the real engine and its dynamic-provider host, against a real
Prometheus that asks for basic auth and serves backfilled canary and stable traffic.

The program (written below into a project of the test's own) is a stage clock and the SLO gate that promotes
to the next stage, as CanaryRollout registers them. Each `up` runs at a time set by the test (RELEASE_AT): the
gate holds while the evidence is short, passes on healthy data, and rolls back on a regression. The
Prometheus password exists only as a secret in the stack's config: the gate reaching Prometheus at all shows the
engine handed it to the provider's `configure`; the state and every file of the backend must hold it
encrypted only.
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
from testing.prometheus_server import PrometheusServer
from tests.gates.release_timeline import RELEASE_START, RELEASES, openmetrics

pytestmark = pytest.mark.engine

USER = "gate-reader"
PASSWORD = "s3cret-only-in-the-stack-config-7f3a"
"""The Prometheus password; a string no other part of the test writes, so finding it anywhere is a leak."""

PROGRAM = """
import os
import pulumi
from gates.slo_gate import SloGate, SloGateArgs
from gates.stage_clock import FixedClock, StageClock, StageClockArgs
from settings.gates import PrometheusConnection
from tests.gates.release_timeline import CANARY, STABLE
from tests.gates.scenarios import NAMESPACE, TENANT

config = pulumi.Config("gate-test")
clock = FixedClock(os.environ["RELEASE_AT"])
agent = config.require("agent")
stage = StageClock("stage-0-clock", StageClockArgs(agent_id=agent, stage=0, canary_version=CANARY), clock=clock)
gate = SloGate(
    f"{agent}-gate-1",
    SloGateArgs(
        namespace=NAMESPACE, agent_id=agent, tenant_id=TENANT,
        stable_version=STABLE, canary_version=CANARY, stage=1, weight=25,
        stage_started_at=stage.applied_at, min_duration_seconds=600, max_duration_seconds=2400,
        policy=config.get("policy") or "rollback",
        connection=PrometheusConnection(
            url=config.require("url"), query_timeout_seconds=5, deadline_seconds=20, retries=0
        ),
    ),
    clock=clock,
)
pulumi.export("started_at", stage.applied_at)
pulumi.export("verdict", gate.verdict)
pulumi.export("passed_at", gate.passed_at)
"""


class Project:
    def __init__(self, engine: Engine, folder: Path, url: str, agent_id: str):
        self.engine, self.folder = engine, folder
        folder.mkdir(parents=True)
        (folder / "Pulumi.yaml").write_text(
            "name: gate-engine-test\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {ROOT / '.venv'}\n"
        )
        (folder / "__main__.py").write_text(PROGRAM)
        self.run("stack", "init", folder.name, "--secrets-provider", "passphrase")
        self.run("config", "set", "gate-test:agent", agent_id)
        self.run("config", "set", "gate-test:url", url)
        # As the README says to store them: the gate's provider reads `agent-platform:gates` in `configure`.
        self.run("config", "set", "--path", "agent-platform:gates.prometheus.username", USER)
        self.run("config", "set", "--secret", "--path", "agent-platform:gates.prometheus.password", PASSWORD)

    def run(self, *args: str, check: bool = True, minute: float = 0) -> Any:
        at = format_time(RELEASE_START + timedelta(minutes=minute))
        return self.engine.run(self.folder, *args, check=check, env={"PYTHONPATH": str(ROOT), "RELEASE_AT": at})

    def up(self, minute: float) -> tuple[bool, str, dict[str, Any]]:
        """Whether the `up` succeeded, its output, and the stack's outputs after it."""
        result = self.run("up", "--yes", "--skip-preview", check=False, minute=minute)
        outputs = json.loads(self.run("stack", "output", "--json", "--show-secrets").stdout)
        return result.returncode == 0, result.stdout + result.stderr, outputs

    def gate_in_state(self) -> bool:
        export = json.loads(self.run("stack", "export").stdout)
        return any(r["type"].endswith("agent-platform:SloGate") for r in export["deployment"].get("resources") or [])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if not (TOOLS_BIN / "pulumi").exists():
        pytest.fail("the Pulumi CLI is not built: run ./scripts/build-pulumi-tools.sh")
    e = Engine(tmp_path_factory.mktemp("gate-engine"))
    e.run(e.workdir, "login", f"file://{e.backend}")
    yield e


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("gate-prometheus"), openmetrics(RELEASES), (USER, PASSWORD))
    server.start()
    yield server
    server.stop()


def test_the_gate_holds_then_passes_on_healthy_data(engine, prometheus, tmp_path) -> None:
    project = Project(engine, tmp_path / "healthy", prometheus.url, "release-healthy")
    ok, output, _ = project.up(0)
    assert not ok and "GateBlockedError" in output, output[-3000:]
    assert not project.gate_in_state(), "a held gate writes nothing to the state"
    minute, ok = 0, False
    while not ok and minute < 40:
        minute += 5
        ok, output, outputs = project.up(minute)
    assert ok and outputs["verdict"] == "pass", output[-3000:]
    # min_duration is 10 minutes from the clock's first `up`: no pass before it, whatever the data says.
    assert minute >= 10
    assert outputs["passed_at"] == format_time(RELEASE_START + timedelta(minutes=minute))
    assert outputs["started_at"] == format_time(RELEASE_START)
    again = project.run("up", "--yes", "--skip-preview", "--expect-no-changes", minute=minute + 30)
    assert again.returncode == 0, "a passed gate is not evaluated again by a later `up`"


def test_a_regression_rolls_back_and_block_policy_fails_the_up(engine, prometheus, tmp_path) -> None:
    # release-regression's canary fails 5x as often from minute 40; its clock starts there.
    rollback = Project(engine, tmp_path / "rollback", prometheus.url, "release-regression")
    outcomes = [rollback.up(minute) for minute in range(40, 85, 10)]
    verdicts = [outputs.get("verdict") for ok, _, outputs in outcomes if ok]
    assert verdicts and set(verdicts) == {"fail"}, [o[1][-1500:] for o in outcomes]
    assert all(not ok for ok, _, _ in outcomes[: len(outcomes) - len(verdicts)]), "it held until it knew"

    block = Project(engine, tmp_path / "block", prometheus.url, "release-regression")
    block.run("config", "set", "gate-test:policy", "block")
    results = [block.up(minute) for minute in range(40, 85, 10)]
    assert not any(ok for ok, _, _ in results) and not block.gate_in_state()
    assert "fail" in results[-1][1].lower() and "GateBlockedError" in results[-1][1], results[-1][1][-3000:]


def test_the_prometheus_password_is_never_in_clear_text(engine, prometheus, tmp_path) -> None:
    project = Project(engine, tmp_path / "secrets", prometheus.url, "release-healthy")
    for minute in range(0, 45, 5):
        if project.up(minute)[0]:
            break
    assert project.gate_in_state(), "the gate reached Prometheus with the password from the stack's config"
    export = project.run("stack", "export").stdout
    assert PASSWORD not in export
    leaks = [
        path
        for folder in (engine.backend, engine.home, project.folder)
        for path in folder.rglob("*")
        if path.is_file() and PASSWORD.encode() in path.read_bytes()
    ]
    assert leaks == []
