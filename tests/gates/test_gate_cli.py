"""The read-only gate CLI on the Prometheus scenarios: exit codes and output formats."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from gates.cli import main, slo_gates
from gates.slo_gate import SLO_GATE_TYPE
from gates.stage_clock import STAGE_CLOCK_TYPE, format_time
from settings import stack_file
from tests.conftest import ROOT, load_resources
from tests.gates.fake_server import Behaviour, serve
from tests.gates.scenarios import CANARY, EVALUATED_AT, STABLE, stage_started_at

AT = format_time(EVALUATED_AT)


def stack_root(tmp_path: Path, prometheus_url: str, agent_ids: list[str], deadline_seconds: float = 20) -> Path:
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    config = document["config"]
    config.pop("agent-platform:canary", None)  # the default stages: stage 2 is 50%, judged since stage 1 (25%)
    config["agent-platform:agents"] = [
        {
            "id": agent_id,
            "image": f"111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/{agent_id}",
            "version": STABLE,
            "tenants": ["acme"],
            "owner": "team-support",
            "oncall_receiver": "support-oncall",
            "ingress": {"domain": "agents.example.com"},
            "rollout": {"canary": {"version": CANARY}, "stage": 2},
        }
        for agent_id in agent_ids
    ]
    config["agent-platform:gates"] = {
        "prometheus": {"url": prometheus_url, "retries": 1, "deadline_seconds": deadline_seconds}
    }
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def state_file(tmp_path: Path, agent_ids: list[str]) -> Path:
    resources = [
        {
            "type": STAGE_CLOCK_TYPE,
            "outputs": {"agent_id": a, "tenant_id": "acme", "stage": 1, "applied_at": stage_started_at()},
        }
        for a in agent_ids
    ]
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"deployment": {"resources": resources}}))
    return path


@pytest.mark.parametrize(
    ("agent_ids", "status"),
    [
        (["healthy"], 0),
        (["healthy", "error-regression"], 1),
        (["healthy", "low-traffic"], 2),
        (["error-regression", "no-canary"], 3),
    ],
    ids=["all pass", "a fail", "an inconclusive", "an error outranks a fail"],
)
def test_exit_status_is_the_worst_verdict(tmp_path, prometheus, capsys, agent_ids, status) -> None:
    root = stack_root(tmp_path, prometheus.url, agent_ids)
    state = state_file(tmp_path, agent_ids)
    assert main(["prod", "--root", str(root), "--state", str(state), "--at", AT]) == status
    out = capsys.readouterr().out
    for agent_id in agent_ids:
        assert f"SLO gate {agent_id}/acme 50%" in out


def test_json_lists_every_gate_with_its_checks(tmp_path, prometheus, capsys) -> None:
    root = stack_root(tmp_path, prometheus.url, ["error-regression"])
    code = main(["prod", "--root", str(root), "--stage-started-at", stage_started_at(), "--at", AT, "--json"])
    results = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(r["title"], r["verdict"]) for r in results] == [("SLO gate error-regression/acme 50%", "fail")]
    error_ratio = next(c for c in results[0]["checks"] if c["name"] == "error_ratio")
    assert error_ratio["verdict"] == "fail" and error_ratio["queries"]


def test_markdown_is_a_pull_request_comment(tmp_path, prometheus, capsys) -> None:
    root = stack_root(tmp_path, prometheus.url, ["low-traffic"])
    main(["prod", "--root", str(root), "--stage-started-at", stage_started_at(), "--at", AT, "--markdown"])
    out = capsys.readouterr().out
    assert "| SLO gate low-traffic/acme 50% | **inconclusive** |" in out
    assert "more canary requests" in out


def test_an_unknown_stage_start_is_an_error(tmp_path, prometheus, capsys) -> None:
    root = stack_root(tmp_path, prometheus.url, ["healthy"])
    assert main(["prod", "--root", str(root), "--at", AT]) == 3
    assert "stage start unknown" in capsys.readouterr().out


def test_invalid_settings_are_an_error(tmp_path, capsys) -> None:
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  agent-platform:environment: moon\n")
    assert main(["prod", "--root", str(tmp_path)]) == 3
    assert "Pulumi.prod.yaml" in capsys.readouterr().err


def test_the_committed_prod_stack_has_no_settings_only_ga_failure(capsys) -> None:
    """Only missing evidence may fail the GA gate of the committed prod stack; its settings pass the checklist."""
    main(["prod", "--json"])
    results = json.loads(capsys.readouterr().out)
    ga = [r for r in results if r["kind"] == "ga"]
    assert ga, "prod has a `ga` agent behind the GA readiness gate"
    settings_failures = [c["name"] for r in ga for c in r["checks"] if c["from_settings"] and not c["passed"]]
    assert settings_failures == []
    assert {c["name"] for r in ga for c in r["checks"] if c["from_settings"]} >= {
        "rollout_mode.require_shadow_period",
        "rollout_mode.max_tenant_exposure_pct",
    }


def test_each_gate_keeps_its_deadline_against_a_server_trickling_its_answers(tmp_path, capsys) -> None:
    """Two gates, a server sending one byte every 20 ms: the command ends within two deadlines (10% slack)."""
    deadline = 1.0
    with serve(Behaviour(body=b"{}", trickle_seconds=0.02)) as url:
        root = stack_root(tmp_path, url, ["healthy", "low-traffic"], deadline_seconds=deadline)
        started = time.monotonic()
        code = main(["prod", "--root", str(root), "--stage-started-at", stage_started_at(), "--at", AT, "--json"])
        elapsed = time.monotonic() - started
    results = json.loads(capsys.readouterr().out)
    slo = [r for r in results if r["kind"] == "slo"]
    assert code == 3 and len(slo) == 2
    assert all(r["verdict"] == "error" and f"total deadline of {deadline:g}s" in r["report"] for r in slo), slo
    assert elapsed <= 2 * deadline * 1.1 + 1.0, elapsed  # + reading the settings and the GA gate, no queries


def test_the_cli_evaluates_the_gates_the_program_registers(rendered) -> None:
    """Every SloGate of the staging render, with the same inputs, and no other: one builder serves both."""
    registered = {
        (r["inputs"]["agent_id"], r["inputs"]["tenant_id"]): r["inputs"]
        for r in load_resources(rendered("staging"))
        if r["type"] == SLO_GATE_TYPE
    }
    assert registered, "the staging stack has a gated canary"
    starts = {inputs["stage_started_at"] for inputs in registered.values()}
    assert len(starts) == 1
    planned = slo_gates(stack_file.load("staging", ROOT), {}, starts.pop())
    assert all(inputs is not None for _, inputs in planned)
    # The engine drops an input that is None (`prometheus_region` without SigV4).
    cli = {(i["agent_id"], i["tenant_id"]): {k: v for k, v in i.items() if v is not None} for _, i in planned if i}
    assert cli == registered
