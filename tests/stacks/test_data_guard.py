"""Settings changes that would delete, replace or strand data: refused without an acknowledgement, accepted
with one. Renders run in this process through the offline engine (the same code as the render command)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from settings import SettingsError, settings_from_config, stack_file
from stacks import data_guard
from stacks.data_guard import Deployment, refusals
from stacks.offline.engine import run
from stacks.render import main, resource_record

ROOT = Path(__file__).resolve().parents[2]
# The SDK's provider modules warn about their own deprecated resource classes at import.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def stack_document(stack: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())


def write_stack(folder: Path, stack: str, change: Any) -> Path:
    document = copy.deepcopy(stack_document(stack))
    change(document["config"])
    path = folder / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def deployment(stack: str, path: Path | None = None) -> tuple[Deployment, Any]:
    recording = run(stack, stack_path=path)
    config = stack_file.read(stack, path=path)
    settings = settings_from_config(stack, config.values, config.secret_keys)
    resources = {urn: resource_record(reg) for urn, reg in recording.resources.items()}
    return Deployment(resources, recording.outputs), settings


@cache
def prod() -> Deployment:
    return deployment("prod")[0]


def tenant(config: dict[str, Any], tenant_id: str) -> dict[str, Any]:
    return next(t for t in config["agent-platform:tenants"] if t["id"] == tenant_id)


def acknowledge(config: dict[str, Any], *resources: str) -> None:
    config["agent-platform:data"]["migrations"] = [
        {"resource": r, "plan": "pg_dump | pg_restore during the tenant's freeze (OPS-1)"} for r in resources
    ]


CASES = {
    # premium -> enterprise: a new, empty dedicated instance; DATABASE_URL moves to it.
    "tier premium to enterprise": (
        lambda c: tenant(c, "stark").update(tier="enterprise"),
        {("tenants[5].tier", "stark-data")},
    ),
    # enterprise -> premium: the dedicated instance is deleted; DATABASE_URL moves to the shared one.
    "tier enterprise to premium": (
        lambda c: tenant(c, "umbrella").update(tier="premium"),
        {("tenants[3].tier", "agent-platform-prod-umbrella-instance"), ("tenants[3].tier", "umbrella-data")},
    ),
    # us -> eu: the Secrets Manager secrets move region (replaced, values lost); database and cache move site.
    "data residency us to eu": (
        lambda c: tenant(c, "litware").update(data_residency="eu"),
        {
            ("tenants[2].data_residency", "litware-data-anthropic-api-key"),
            ("tenants[2].data_residency", "litware-data-openai-key"),
            ("tenants[2].data_residency", "litware-data"),
        },
    ),
    "tenant removed": (
        lambda c: (
            c["agent-platform:tenants"].remove(tenant(c, "duff"))
            or c["agent-platform:agents"][0]["tenants"].remove("duff")
        ),
        {
            ("tenants", "duff-ns"),
            ("tenants", "duff-data-anthropic-api-key"),
            ("tenants", "duff-data-openai-key"),
        },
    ),
}


def _resource(message: str) -> str:
    return message.split("data.migrations: [{resource: ", 1)[1].split(",", 1)[0]


@cache
def changed(case: str) -> Deployment:
    """The planned deployment of a case, rendered once per session."""
    with tempfile.TemporaryDirectory() as folder:
        return deployment("prod", write_stack(Path(folder), "prod", CASES[case][0]))[0]


def settings_of(folder: Path, change: Any) -> Any:
    path = write_stack(folder, "prod", change)
    config = stack_file.read("prod", path=path)
    return settings_from_config("prod", config.values, config.secret_keys)


@pytest.mark.parametrize("case", CASES)
def test_data_moves_are_refused_without_and_accepted_with_an_acknowledgement(
    tmp_path_factory: pytest.TempPathFactory, case: str
) -> None:
    change, expected = CASES[case]
    folder = tmp_path_factory.mktemp("stack")
    new = changed(case)
    problems = refusals(prod(), new, settings_of(folder, change))
    assert {(p.path, _resource(p.message)) for p in problems} == expected
    for problem in problems:
        assert "docs/data-changes.md" in problem.message

    def acknowledged(config: dict[str, Any]) -> None:
        change(config)
        acknowledge(config, *sorted({r for _, r in expected}))

    # The acknowledgement changes no resource, so the same planned deployment is judged with it.
    assert refusals(prod(), new, settings_of(folder, acknowledged)) == []


def test_an_acknowledgement_covers_only_the_resource_it_names(tmp_path: Path) -> None:
    def change(config: dict[str, Any]) -> None:
        CASES["tier enterprise to premium"][0](config)
        acknowledge(config, "umbrella-data")

    new = changed("tier enterprise to premium")
    problems = refusals(prod(), new, settings_of(tmp_path, change))
    assert [_resource(p.message) for p in problems] == ["agent-platform-prod-umbrella-instance"]


def test_an_unchanged_stack_moves_nothing() -> None:
    assert data_guard.data_changes(prod(), prod()) == []
    assert prod().outputs["data"]["tenants"]["stark"]["database_url"].startswith("postgresql://")


def test_environment_of_another_stack_is_refused_by_settings(tmp_path: Path) -> None:
    """`environment: staging` in Pulumi.prod.yaml would rename every namespace and data service; settings
    refuse it before the data guard is needed, and no acknowledgement allows it."""

    def change(config: dict[str, Any]) -> None:
        config["agent-platform:environment"] = "staging"
        acknowledge(config, "acme-ns")

    with pytest.raises(SettingsError) as caught:
        run("prod", stack_path=write_stack(tmp_path, "prod", change))
    assert [p.path for p in caught.value.problems] == ["environment"]


def _namespace(urn_env: str, name_env: str) -> dict[str, Any]:
    return {
        "type": "kubernetes:core/v1:Namespace",
        "inputs": {"metadata": {"name": f"acme-{name_env}", "labels": {"tenant-id": "acme"}}},
        "provider": "",
        "urn": f"urn:pulumi:{urn_env}::agent-platform::agent-platform:components:TenantNamespace$"
        "kubernetes:core/v1:Namespace::acme-ns",
    }


def test_environment_change_replaces_tenant_namespaces_and_names_the_setting() -> None:
    """What the data guard says if a stack's environment changes under it (names change, URNs stay)."""
    old_ns, new_ns = _namespace("prod", "prod"), _namespace("prod", "staging")
    old = Deployment({old_ns["urn"]: old_ns}, {"environment": "prod"})
    new = Deployment({new_ns["urn"]: new_ns}, {"environment": "staging"})
    settings = settings_from_config("staging", *_config_with_secrets("staging"))
    problems = refusals(old, new, settings)
    assert [(p.path, _resource(p.message)) for p in problems] == [("environment", "acme-ns")]
    assert "'prod' -> 'staging'" in problems[0].message and "replaces the namespace" in problems[0].message


def _config_with_secrets(stack: str) -> tuple[dict[str, str], set[str]]:
    config = stack_file.read(stack)
    return config.values, set(config.secret_keys)


def _state_export(render: Path) -> dict[str, Any]:
    """A `pulumi stack export` document made from a render: resources with `urn::id` provider references and
    the root stack resource's outputs, as the Pulumi CLI writes them."""
    resources = json.loads((render / "resources.json").read_text())
    exported = [
        {
            "urn": r["urn"],
            "type": r["type"],
            "inputs": r["inputs"],
            "provider": f"{r['provider']}::{r['provider'].rsplit('::', 1)[-1]}-id" if r["provider"] else "",
        }
        for r in resources
    ]
    stack = {
        "urn": "urn:pulumi:prod::agent-platform::pulumi:pulumi:Stack::agent-platform-prod",
        "type": "pulumi:pulumi:Stack",
    }
    stack["outputs"] = json.loads((render / "outputs.json").read_text())
    return {"version": 3, "deployment": {"manifest": {}, "resources": [stack, *exported]}}


def test_render_refuses_against_a_state_export_and_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    first = tmp_path / "first"
    assert main(["prod", "--out", str(first)]) == 0
    export = tmp_path / "prev.json"
    export.write_text(json.dumps(_state_export(first / "prod")))
    capsys.readouterr()

    changed = write_stack(tmp_path, "prod", lambda c: tenant(c, "stark").update(tier="enterprise"))
    out = tmp_path / "out"
    code = main(["prod", "--out", str(out), "--stack-file", str(changed), "--previous", str(export)])
    lines = capsys.readouterr().err.splitlines()
    assert code == 1
    assert [line.split(": ", 2)[1] for line in lines] == ["agent-platform:tenants[5].tier"]
    assert "repoints the tenant's PostgreSQL database 'stark-data'" in lines[0]
    assert not out.exists() or not any(out.iterdir())

    def acknowledged(config: dict[str, Any]) -> None:
        tenant(config, "stark").update(tier="enterprise")
        acknowledge(config, "stark-data")

    changed = write_stack(tmp_path, "prod", acknowledged)
    assert main(["prod", "--out", str(out), "--stack-file", str(changed), "--previous", str(export)]) == 0
    assert (out / "prod" / "resources.json").is_file()


def test_render_guards_against_the_last_render_by_default(tmp_path: Path, capsys: Any) -> None:
    assert main(["prod", "--out", str(tmp_path)]) == 0
    changed = write_stack(tmp_path, "prod", lambda c: tenant(c, "umbrella").update(tier="premium"))
    before = (tmp_path / "prod" / "resources.json").read_text()
    capsys.readouterr()
    assert main(["prod", "--out", str(tmp_path), "--stack-file", str(changed)]) == 1
    assert "agent-platform-prod-umbrella-instance" in capsys.readouterr().err
    assert (tmp_path / "prod" / "resources.json").read_text() == before


def _project(tmp_path: Path, change: Any) -> Path:
    from tests.stacks.test_render import project_copy

    project = project_copy(tmp_path)
    write_stack(project, "prod", change)
    return project


def test_up_guards_against_the_state_export_it_is_given(tmp_path: Path) -> None:
    """`pulumi up` runs `guard_up` before anything registers: the same render, against the export."""
    first = tmp_path / "first"
    assert main(["prod", "--out", str(first)]) == 0
    export = tmp_path / "prev.json"
    export.write_text(json.dumps(_state_export(first / "prod")))
    project = _project(tmp_path, lambda c: tenant(c, "stark").update(tier="enterprise"))
    with pytest.raises(pulumi.RunError) as caught:
        data_guard.guard_up("prod", "organization/agent-platform/prod", project, str(export))
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == ["agent-platform:tenants[5].tier"]
    assert "repoints the tenant's PostgreSQL database 'stark-data'" in lines[0]
    write_stack(project, "prod", lambda c: None)
    data_guard.guard_up("prod", "organization/agent-platform/prod", project, str(export))


def test_up_reads_its_own_state_by_default_and_fails_closed_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without $AGENT_PLATFORM_PREVIOUS_STATE the guard reads the stack's state through the CLI; when that
    fails (here a CLI that exits 1, then no CLI at all) `up` stops with one line saying how to go on, instead
    of running unguarded. The real export is tested with the real CLI in tests/engine."""
    fqsn = "organization/agent-platform/prod"
    assert data_guard.export_command("pulumi", fqsn, tmp_path / "prev.json") == [
        "pulumi",
        "stack",
        "export",
        "--stack",
        fqsn,
        "--file",
        str(tmp_path / "prev.json"),
    ]
    fix = (
        "export it yourself and set AGENT_PLATFORM_PREVIOUS_STATE=prev.json "
        f"(pulumi stack export --stack {fqsn} --file prev.json)"
    )
    with pytest.raises(pulumi.RunError) as caught:
        data_guard.guard_up("prod", fqsn, ROOT, None, cli="/bin/false")
    assert str(caught.value) == f"data guard: could not read the previous deployment of {fqsn} (exit 1); {fix}"
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(data_guard, "running_cli", lambda: None)
    with pytest.raises(pulumi.RunError) as caught:
        data_guard.guard_up("prod", fqsn, ROOT, None)
    assert str(caught.value) == f"data guard: no `pulumi` CLI found to read the previous deployment of {fqsn}; {fix}"


def test_the_cli_that_runs_the_program_is_found_among_its_ancestors(tmp_path: Path) -> None:
    """/proc/<pid>/exe names a process's executable and the fourth field of /proc/<pid>/stat its parent
    (proc(5)); here a pulumi CLI runs a language host that runs the program."""
    cli = tmp_path / "bin" / "pulumi"
    host = tmp_path / "bin" / "pulumi-language-python"
    for pid, exe, parent in ((300, host, 200), (200, cli, 1)):
        folder = tmp_path / "proc" / str(pid)
        folder.mkdir(parents=True)
        (folder / "exe").symlink_to(exe)
        (folder / "stat").write_text(f"{pid} ({exe.name}) S {parent} {pid} {pid} 0 -1\n")
    assert data_guard.running_cli(300, tmp_path / "proc") == str(cli)
    assert data_guard.running_cli(os.getpid()) in (None, shutil.which("pulumi"))  # pytest has no pulumi ancestor


def test_a_data_url_is_compared_by_the_instance_it_names_not_by_the_endpoint_hash() -> None:
    """RDS addresses are `<identifier>.<per-account hash>.<region>.rds.amazonaws.com` and ElastiCache endpoints
    `master.<group>.<hash>...cache.amazonaws.com`: a real state export and the offline render of the same
    instance differ only in the hash, which must not read as a repoint; another identifier must."""

    def deployment_with(database: str, redis: str) -> Deployment:
        urls = {"database_url": f"postgresql://acme-prod@{database}:5432/tenant_acme", "redis_url": redis}
        return Deployment({}, {"data": {"tenants": {"acme": urls}}})

    real = deployment_with(
        "agent-platform-prod.c9akciq32.us-east-1.rds.amazonaws.com",
        "rediss://acme-prod@master.agents-prod.x7f3ab.use1.cache.amazonaws.com:6379/0",
    )
    offline = deployment_with(
        "agent-platform-prod.c0123456789.us-east-1.rds.amazonaws.com",
        "rediss://acme-prod@master.agents-prod.abc123.ng.0001.us-east-1.cache.amazonaws.com:6379/0",
    )
    assert data_guard.data_changes(real, offline) == []
    moved = deployment_with(
        "agent-platform-prod-acme.c0123456789.us-east-1.rds.amazonaws.com",
        "rediss://acme-prod@master.agents-prod-eu.abc123.ng.0001.eu-west-1.cache.amazonaws.com:6379/0",
    )
    assert [(c.kind, c.detail) for c in data_guard.data_changes(real, moved)] == [
        (
            "repoints",
            "DATABASE_URL would point at agent-platform-prod-acme instead of agent-platform-prod, an empty one",
        ),
        ("repoints", "REDIS_URL would point at agents-prod-eu instead of agents-prod, an empty one"),
    ]
