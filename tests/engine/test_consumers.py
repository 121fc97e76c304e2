"""Policy pack through CrossGuard and a StackReference consumer, both against the session's stacks."""

from __future__ import annotations

import shutil

import pytest

from stacks.outputs import StackOutputs
from testing.engine_cli import ORGANIZATION, ROOT, project_copy
from tests.engine.conftest import PARALLEL, EngineSession
from tests.stacks.test_outputs_contract import without_nulls

pytestmark = pytest.mark.engine

CONTRACT = tuple(StackOutputs.model_fields)
"""The outputs the README's contract table lists (generated from this model)."""


def test_stack_reference_consumer_reads_the_documented_contract(engine_session: EngineSession) -> None:
    producer = engine_session.stack("prod")
    engine = engine_session.engine
    consumer = project_copy(ROOT / "tests" / "engine" / "consumer", engine.workdir / "consumer")
    engine.run(consumer, "stack", "init", "prod", "--secrets-provider", "passphrase")
    engine.run(consumer, "config", "set", "--stack", "prod", "platform", f"{ORGANIZATION}/agent-platform/prod")
    engine.run(consumer, "up", "--stack", "prod", "--yes", "--skip-preview")
    read = engine.json(consumer, "stack", "output", "--stack", "prod", "--json", "--show-secrets")
    assert set(CONTRACT) <= producer.outputs.keys()
    exported = {name: producer.outputs[name] for name in CONTRACT}
    received = {name: read[name] for name in CONTRACT}
    # Null fields do not arrive through the StackReference (contract 1.2: they may be absent), all else does.
    assert received == without_nulls(exported) != exported
    assert StackOutputs.model_validate(received) == StackOutputs.model_validate(exported)
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
        engine_session.project,
        "preview",
        "--stack",
        "dev",
        "--policy-pack",
        policy_pack(engine_session),
        "--parallel",
        PARALLEL,
        env={"PYTHONPATH": str(engine_session.project)},
    )
    assert "agent-platform" in result.stdout and "Policies:" in result.stdout, result.stdout[-3000:]
    assert "mandatory" not in result.stdout.split("Policies:", 1)[1].lower(), result.stdout[-3000:]


UNENCRYPTED_BUCKET = """

import pulumi_aws

pulumi_aws.s3.Bucket("scratch")  # a change under review: a bucket with no encryption configuration
"""


def test_policy_pack_fails_a_mandatory_violation_with_the_rule_message(engine_session: EngineSession) -> None:
    """A change the stack settings cannot see (code that adds a bucket) reaches CrossGuard: settings the pack
    would refuse are refused by the program first, with the rule's name, so the pack's own check needs code."""
    engine_session.stack("dev")
    changed = engine_session.engine.workdir / "agent-platform-change"
    shutil.copytree(engine_session.project, changed, symlinks=True)
    with (changed / "__main__.py").open("a") as program:
        program.write(UNENCRYPTED_BUCKET)
    result = engine_session.engine.run(
        changed,
        "preview",
        "--stack",
        "dev",
        "--policy-pack",
        policy_pack(engine_session),
        "--parallel",
        PARALLEL,
        check=False,
        env={"PYTHONPATH": str(changed)},
    )
    report = result.stdout.split("Policies:", 1)[-1]
    assert result.returncode != 0, result.stdout[-3000:]
    assert "s3-bucket-encryption" in report and "mandatory" in report.lower(), result.stdout[-3000:]
    assert "scratch" in report, "the violation names the resource"
