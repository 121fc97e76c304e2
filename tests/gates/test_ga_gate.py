"""The GA readiness gate: every check recomputed, stale or missing evidence fails, nothing defaults to pass."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gates.ga_checks import AgentFacts, checklist_findings, settings_findings
from gates.ga_evidence import EvidenceError, check_source
from gates.ga_gate import GaGateFailedError, GaReadinessGateProvider, GaSpec, evaluate_ga
from gates.stage_clock import FixedClock, format_time
from settings.gates import GaGate, RolloutChecklist
from tests.gates.fake_server import Behaviour, serve

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
READY = {
    "ready": True,
    "checks": {
        "security_audit": {"passed": True, "score": 0.95},
        "performance_certification": {"passed": True, "p95_latency_ms": 420},
        "feature_flag_removal": {"passed": True, "remaining_flags": 0},
        "documentation": {"passed": True, "coverage": 0.92},
        "signoff": {"passed": True, "approvals": 3, "required": 3},
    },
    "overall_score": 0.94,
    "blocking_items": [],
    "fetched_at": format_time(NOW - timedelta(days=1)),
}
CHECKLIST = {
    "recorded_at": format_time(NOW - timedelta(days=1)),
    "trace_coverage": 0.998,
    "policy_prechecks": True,
    "capability_owners": {"answer": "team-support", "escalate": "team-support"},
    "offline_eval_pass": True,
    "unknown_side_effect_path_missing": False,
    "direct_tool_access_present": False,
    "policy_decisions_not_traced": False,
}
FACTS = AgentFacts(
    "support-bot", ("answer", "escalate"), "team-support", "support-oncall", "canary", "rollback", True, 5.0, True, 1
)


def spec(tmp_path: Path, document: Any = READY, checklist: Any = CHECKLIST, **facts: Any) -> GaSpec:
    for name, content in (("acme.json", document), ("checklist.json", checklist)):
        text = content if isinstance(content, str) else json.dumps(content)
        (tmp_path / name).write_text(text)
    return GaSpec(
        agent_id="support-bot",
        sources={"acme": str(tmp_path / "acme.json")},
        checklist_source=str(tmp_path / "checklist.json"),
        thresholds=GaGate(),
        checklist=RolloutChecklist(),
        facts=asdict(FACTS) | facts,
    )


def changed(path: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(READY)
    *parents, leaf = path.split(".")
    target = document
    for key in parents:
        target = target[key]
    if value is None:
        del target[leaf]
    else:
        target[leaf] = value
    return document


def failing(decision) -> dict[str, str]:
    return {f.name: f.reason for f in decision.findings if not f.passed}


def test_ready_evidence_passes(tmp_path: Path) -> None:
    decision = evaluate_ga(spec(tmp_path), NOW, tmp_path)
    assert decision.verdict == "pass", decision.report()


@pytest.mark.parametrize(
    ("path", "value", "finding", "reason"),
    [
        ("checks.security_audit.score", 0.85, "acme: security_audit", "score 0.85 (need ≥ 0.9)"),
        ("checks.performance_certification.p95_latency_ms", 650, "acme: performance_certification", "650 ms"),
        ("checks.feature_flag_removal.remaining_flags", 2, "acme: feature_flag_removal", "2 flags remain"),
        ("checks.documentation.coverage", 0.7, "acme: documentation", "coverage 0.7"),
        ("checks.signoff.approvals", 2, "acme: signoff", "2 approvals of 3"),
        ("checks.signoff.required", 1, "acme: signoff", "must be at least 3"),
        ("overall_score", 0.8, "acme: overall_score", "0.8 (need ≥ 0.9)"),
        ("blocking_items", ["signoff"], "acme: blocking_items", "signoff"),
        ("checks.documentation", None, "acme: documentation", "missing from the document"),
        ("checks.security_audit.score", "high", "acme: security_audit", "not a number"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " not in v and "." in v else None,
)
def test_each_check_fails_on_its_own_threshold(tmp_path, path, value, finding, reason) -> None:
    document = changed(path, value)
    if path == "checks.signoff.approvals":
        document["checks"]["signoff"]["approvals"] = value
    decision = evaluate_ga(spec(tmp_path, document), NOW, tmp_path)
    assert decision.verdict == "fail"
    assert reason in failing(decision)[finding], decision.report()


def test_an_inconsistent_document_shows_both_and_the_recomputed_result_decides(tmp_path: Path) -> None:
    # The runtime's own sample: a 2,100 ms p95 marked as passed.
    document = changed("checks.performance_certification.p95_latency_ms", 2100)
    decision = evaluate_ga(spec(tmp_path, document), NOW, tmp_path)
    assert decision.verdict == "fail"
    reason = failing(decision)["acme: performance_certification"]
    assert "p95 2100 ms (limit 500 ms)" in reason
    assert "the document says passed=true, recomputed fail" in reason
    assert "the document says ready=true" in failing(decision)["acme: ready"]


def test_stale_evidence_fails(tmp_path: Path) -> None:
    document = changed("fetched_at", format_time(NOW - timedelta(days=9)))
    decision = evaluate_ga(spec(tmp_path, document), NOW, tmp_path)
    assert failing(decision)["acme: freshness"] == "9.0d old (max 7.0d)"


def test_evidence_without_a_timestamp_fails(tmp_path: Path) -> None:
    decision = evaluate_ga(spec(tmp_path, changed("fetched_at", None)), NOW, tmp_path)
    assert "no timestamp" in failing(decision)["acme: freshness"]


def test_a_missing_file_fails_naming_it(tmp_path: Path) -> None:
    gate = spec(tmp_path)
    (tmp_path / "acme.json").unlink()
    decision = evaluate_ga(gate, NOW, tmp_path)
    assert failing(decision)["acme: evidence"].endswith("acme.json: missing file")


def test_malformed_json_fails(tmp_path: Path) -> None:
    decision = evaluate_ga(spec(tmp_path, "{not json"), NOW, tmp_path)
    assert "malformed JSON" in failing(decision)["acme: evidence"]


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"direct_tool_access_present": True}, "block_if.direct_tool_access_present"),
        ({"policy_decisions_not_traced": None}, "block_if.policy_decisions_not_traced"),
        ({"trace_coverage": 0.9}, "require.trace_coverage"),
        ({"capability_owners": {"answer": "team-support"}}, "require.capability_owners"),
        ({"offline_eval_pass": False}, "require.offline_eval_pass"),
    ],
    ids=[
        "a block_if flag is set",
        "a block_if flag is missing",
        "trace coverage too low",
        "a capability has no owner",
        "offline evals fail",
    ],
)
def test_the_rollout_checklist_evidence_is_enforced(tmp_path, change, finding) -> None:
    checklist = {k: v for k, v in (CHECKLIST | change).items() if v is not None}
    decision = evaluate_ga(spec(tmp_path, checklist=checklist), NOW, tmp_path)
    assert finding in failing(decision), decision.report()


@pytest.mark.parametrize(
    ("facts", "finding"),
    [
        ({"shadow_stage": False}, "rollout_mode.require_shadow_period"),
        ({"max_tenant_exposure_pct": 10.0, "tenant_count": 40}, "rollout_mode.max_tenant_exposure_pct"),
        ({"rollback_policy": "block"}, "require.rollback_plan"),
        ({"strategy": "blue_green"}, "rollout_mode.initial"),
    ],
    ids=["no shadow stage", "too many tenants exposed", "no rollback policy", "not a canary rollout"],
)
def test_the_rollout_checklist_settings_are_enforced(tmp_path, facts, finding) -> None:
    decision = evaluate_ga(spec(tmp_path, **facts), NOW, tmp_path)
    assert finding in failing(decision), decision.report()


def test_a_url_source_takes_its_age_from_the_date_header(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with serve(Behaviour(body=json.dumps(changed("fetched_at", None)).encode())) as url:
        gate = spec(tmp_path, checklist=CHECKLIST | {"recorded_at": format_time(now)})
        gate = gate.model_copy(update={"sources": {"acme": f"{url}/api/v1/agent-runtime/ga-readiness"}})
        decision = evaluate_ga(gate, now, tmp_path)
    assert decision.verdict == "pass", decision.report()
    assert decision.findings[0].reason.startswith("0.0h old")


def test_plain_http_is_only_for_local_hosts() -> None:
    check_source("http://support-bot.acme-prod.svc.cluster.local:8000/api/v1/agent-runtime/ga-readiness")
    check_source("https://runtime.example.com/ga-readiness")
    with pytest.raises(EvidenceError, match="only HTTPS"):
        check_source("http://runtime.example.com/ga-readiness")


def test_the_provider_refuses_a_failing_agent_and_stores_a_passing_one(tmp_path: Path) -> None:
    provider = GaReadinessGateProvider(FixedClock(format_time(NOW)))
    result = provider.create(spec(tmp_path).model_dump())
    assert result.outs["verdict"] == "pass"
    assert result.outs["passed_at"] == format_time(NOW)
    with pytest.raises(GaGateFailedError, match="feature_flag_removal"):
        provider.create(spec(tmp_path, changed("checks.feature_flag_removal.remaining_flags", 2)).model_dump())


@pytest.mark.parametrize(
    ("tenants", "pct", "passed", "reason"),
    [
        (7, 5.0, True, "at most 1 of 7 tenants (14%)"),
        (40, 5.0, True, "at most 2 of 40 tenants (5%)"),
        (40, 10.0, False, "at most 4 of 40 tenants (10%)"),
        (7, 10.0, True, "at most 1 of 7 tenants (14%)"),
    ],
)
def test_the_exposure_finding_reports_the_tenants_the_rollout_plan_exposes(
    tmp_path: Path, tenants: int, pct: float, passed: bool, reason: str
) -> None:
    """One formula: the plan's `max_exposed` (share rounded down, at least one), not the configured percentage."""
    decision = evaluate_ga(spec(tmp_path, tenant_count=tenants, max_tenant_exposure_pct=pct), NOW, tmp_path)
    (finding,) = [f for f in decision.findings if f.name == "rollout_mode.max_tenant_exposure_pct"]
    assert finding.passed is passed and reason in finding.reason, finding.reason
    assert finding.from_settings


def test_settings_findings_are_the_checklist_findings_the_settings_decide(tmp_path: Path) -> None:
    facts = AgentFacts(**(asdict(FACTS) | {"shadow_stage": False, "rollback_policy": "block"}))
    everything = checklist_findings(RolloutChecklist(), facts, {})
    alone = settings_findings(RolloutChecklist(), facts)
    assert alone == [f for f in everything if f.from_settings]
    assert {f.name for f in alone if not f.passed} == {"rollout_mode.require_shadow_period", "require.rollback_plan"}
    decision = evaluate_ga(spec(tmp_path, shadow_stage=False), NOW, tmp_path)
    assert decision.report().splitlines()[0].endswith("(1 of 22 findings fail, 1 from the stack settings alone)")
