"""Policy pack through CrossGuard and a StackReference consumer, both against the session's stacks."""

from __future__ import annotations

import pytest

from testing.engine_cli import ORGANIZATION, ROOT, project_copy
from tests.engine.conftest import PARALLEL, EngineSession

pytestmark = pytest.mark.engine

CONTRACT = ("schema_version", "environment", "tenants", "data", "agents", "observability")
"""The outputs the README's contract table lists."""


def test_stack_reference_consumer_reads_the_documented_contract(engine_session: EngineSession) -> None:
    producer = engine_session.stack("prod")
    engine = engine_session.engine
    consumer = project_copy(ROOT / "tests" / "engine" / "consumer", engine.workdir / "consumer")
    engine.run(consumer, "stack", "init", "prod", "--secrets-provider", "passphrase")
    engine.run(consumer, "config", "set", "--stack", "prod", "platform", f"{ORGANIZATION}/agent-platform/prod")
    engine.run(consumer, "up", "--stack", "prod", "--yes", "--skip-preview")
    read = engine.json(consumer, "stack", "output", "--stack", "prod", "--json", "--show-secrets")
    assert set(CONTRACT) <= producer.outputs.keys()
    assert {name: read[name] for name in CONTRACT} == {name: producer.outputs[name] for name in CONTRACT}
    assert read["acme_namespace"] == "acme-prod" == producer.outputs["tenants"]["acme"]["namespace"]


def policy_pack(engine_session: EngineSession) -> str:
    """The pack as the CLI loads it: its folder with the virtualenv PulumiPolicy.yaml names (`venv`), which
    `pip install -r policy/requirements.txt` makes with the project installed; here the project's .venv with
    the project copy on PYTHONPATH stands for that install."""
    pack = engine_session.project / "policy"
    if not (pack / "venv").exists():
        (pack / "venv").symlink_to(ROOT / ".venv")
    return str(pack)


def test_policy_pack_passes_a_compliant_stack(engine_session: EngineSession) -> None:
    engine_session.stack("dev")
    result = engine_session.engine.run(
        engine_session.project, "preview", "--stack", "dev", "--policy-pack", policy_pack(engine_session),
        "--parallel", PARALLEL, env={"PYTHONPATH": str(engine_session.project)},
    )
    assert "agent-platform" in result.stdout and "Policies:" in result.stdout, result.stdout[-3000:]
    assert "mandatory" not in result.stdout.split("Policies:", 1)[1].lower(), result.stdout[-3000:]


def test_policy_pack_fails_a_mandatory_violation_with_the_rule_message(engine_session: EngineSession) -> None:
    engine_session.stack("dev")
    engine = engine_session.engine
    stack = f"{ORGANIZATION}/agent-platform/dev-unpinned"
    engine.run(engine_session.project, "stack", "init", stack, "--copy-config-from", "dev")
    engine.run(
        engine_session.project, "config", "set", "--stack", "dev-unpinned", "--path",
        "agent-platform:agents[0].version", "latest",
    )
    result = engine.run(
        engine_session.project, "preview", "--stack", "dev-unpinned", "--policy-pack", policy_pack(engine_session),
        "--parallel", PARALLEL, check=False, env={"PYTHONPATH": str(engine_session.project)},
    )
    assert result.returncode != 0
    assert "images-pinned" in result.stdout and "mandatory" in result.stdout, result.stdout[-3000:]
