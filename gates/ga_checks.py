"""GA readiness checks, recomputed from evidence and settings. Pure: documents and facts in, findings out.

Nothing defaults to pass: a missing check, field or flag is a failure that names it. Where the runtime's
document says `passed` but its numbers say otherwise, the finding shows both and the numbers decide.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from settings.canary import max_exposed
from settings.gates import GaGate, RolloutChecklist


@dataclass(frozen=True)
class Finding:
    name: str
    passed: bool
    reason: str
    from_settings: bool = False
    """Decided by the stack settings alone: the offline render and pull-request CI can show it exactly."""

    def line(self) -> str:
        return f"{'pass' if self.passed else 'FAIL'} {self.name}: {self.reason}"


@dataclass(frozen=True)
class AgentFacts:
    """What the stack settings say about the agent, for the checklist items backed by settings."""

    agent_id: str
    capabilities: tuple[str, ...]
    owner: str
    oncall_receiver: str
    strategy: str
    rollback_policy: str
    slo_defined: bool
    max_tenant_exposure_pct: float
    shadow_stage: bool
    tenant_count: int


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


Rule = Callable[[dict[str, Any], GaGate], tuple[bool, str] | str]


def _rule_security(check: dict[str, Any], t: GaGate) -> tuple[bool, str] | str:
    score = _number(check.get("score"))
    if score is None:
        return "score is missing or not a number"
    return score >= t.min_security_score, f"score {score:g} (need ≥ {t.min_security_score:g})"


def _rule_performance(check: dict[str, Any], t: GaGate) -> tuple[bool, str] | str:
    p95 = _number(check.get("p95_latency_ms"))
    if p95 is None:
        return "p95_latency_ms is missing or not a number"
    return p95 <= t.max_p95_latency_ms, f"p95 {p95:g} ms (limit {t.max_p95_latency_ms:g} ms)"


def _rule_flags(check: dict[str, Any], t: GaGate) -> tuple[bool, str] | str:
    remaining = _number(check.get("remaining_flags"))
    if remaining is None:
        return "remaining_flags is missing or not a number"
    return remaining <= t.max_remaining_flags, f"{remaining:g} flags remain (allowed {t.max_remaining_flags})"


def _rule_documentation(check: dict[str, Any], t: GaGate) -> tuple[bool, str] | str:
    coverage = _number(check.get("coverage"))
    if coverage is None:
        return "coverage is missing or not a number"
    return coverage >= t.min_documentation_coverage, f"coverage {coverage:g} (need ≥ {t.min_documentation_coverage:g})"


def _rule_signoff(check: dict[str, Any], t: GaGate) -> tuple[bool, str] | str:
    approvals, required = _number(check.get("approvals")), _number(check.get("required"))
    if approvals is None or required is None:
        return "approvals or required is missing or not a number"
    # The document sets its own bar; a bar below ours fails even when it is met.
    passed = approvals >= required and required >= t.min_required_approvals
    return (
        passed,
        f"{approvals:g} approvals of {required:g} required (the bar must be at least {t.min_required_approvals})",
    )


READINESS_RULES: dict[str, Rule] = {
    "security_audit": _rule_security,
    "performance_certification": _rule_performance,
    "feature_flag_removal": _rule_flags,
    "documentation": _rule_documentation,
    "signoff": _rule_signoff,
}


def readiness_findings(document: Any, thresholds: GaGate, where: str) -> list[Finding]:
    """The runtime's GA readiness document for one tenant (`where`), every check recomputed."""
    if not isinstance(document, dict):
        return [Finding(f"{where}: document", False, f"expected a JSON object, got {type(document).__name__}")]
    checks = document.get("checks")
    if not isinstance(checks, dict):
        return [Finding(f"{where}: checks", False, "the document has no `checks` object")]
    findings = []
    for name, rule in READINESS_RULES.items():
        check = checks.get(name)
        if not isinstance(check, dict):
            findings.append(Finding(f"{where}: {name}", False, "missing from the document"))
            continue
        outcome = rule(check, thresholds)
        if isinstance(outcome, str):
            findings.append(Finding(f"{where}: {name}", False, outcome))
            continue
        passed, detail = outcome
        claimed = check.get("passed")
        if isinstance(claimed, bool) and claimed != passed:
            detail += f"; the document says passed={str(claimed).lower()}, recomputed {'pass' if passed else 'fail'}"
        findings.append(Finding(f"{where}: {name}", passed, detail))
    overall = _number(document.get("overall_score"))
    if overall is None:
        findings.append(Finding(f"{where}: overall_score", False, "missing or not a number"))
    else:
        findings.append(
            Finding(
                f"{where}: overall_score",
                overall >= thresholds.min_overall_score,
                f"{overall:g} (need ≥ {thresholds.min_overall_score:g})",
            )
        )
    blocking = document.get("blocking_items")
    if not isinstance(blocking, list):
        findings.append(Finding(f"{where}: blocking_items", False, "missing or not a list"))
    else:
        findings.append(
            Finding(
                f"{where}: blocking_items", not blocking, f"{', '.join(map(str, blocking))}" if blocking else "none"
            )
        )
    recomputed = all(f.passed for f in findings)
    if isinstance(document.get("ready"), bool) and document["ready"] != recomputed:
        findings.append(
            Finding(
                f"{where}: ready",
                recomputed,
                f"the document says ready={str(document['ready']).lower()}, recomputed "
                f"{'ready' if recomputed else 'not ready'}: the recomputed result decides",
            )
        )
    return findings


def freshness_finding(name: str, observed_at: datetime | None, now: datetime, max_age: timedelta) -> Finding:
    if observed_at is None:
        return Finding(name, False, "no timestamp (`fetched_at`, or an HTTP Last-Modified/Date header)")
    age = now - observed_at
    if age < -timedelta(minutes=5):
        return Finding(name, False, f"timestamp {observed_at.isoformat()} is in the future")
    return Finding(name, age <= max_age, f"{_age(age)} old (max {_age(max_age)})")


def _age(delta: timedelta) -> str:
    hours = max(0.0, delta.total_seconds() / 3600)
    return f"{hours / 24:.1f}d" if hours >= 48 else f"{hours:.1f}h"


# Checklist items the stack settings decide; the others come from the agent's checklist evidence.
SETTINGS_ITEMS = frozenset({"slo_defined", "rollback_plan", "oncall_owner"})


def checklist_findings(checklist: RolloutChecklist, facts: AgentFacts, evidence: Any) -> list[Finding]:
    """The production rollout checklist: `require`, `rollout_mode` and `block_if`, each named when missing."""
    evidence = evidence if isinstance(evidence, dict) else {}
    findings = [_required(item, checklist, facts, evidence) for item in checklist.require]
    findings += _rollout_mode(checklist, facts)
    for flag in checklist.block_if:
        value = evidence.get(flag)
        if not isinstance(value, bool):
            findings.append(Finding(f"block_if.{flag}", False, "missing from the checklist evidence"))
        else:
            findings.append(
                Finding(f"block_if.{flag}", not value, "present: blocks the rollout" if value else "absent")
            )
    return findings


def settings_findings(checklist: RolloutChecklist, facts: AgentFacts) -> list[Finding]:
    """The checklist findings the settings alone decide, as `checklist_findings` reports them."""
    required = [_required(item, checklist, facts, {}) for item in checklist.require if item in SETTINGS_ITEMS]
    return required + _rollout_mode(checklist, facts)


def _rollout_mode(checklist: RolloutChecklist, facts: AgentFacts) -> list[Finding]:
    mode = checklist.rollout_mode
    # The same formula the rollout plan exposes tenants by: the share rounded down, but at least one.
    planned = max_exposed(facts.tenant_count, facts.max_tenant_exposure_pct)
    allowed = max_exposed(facts.tenant_count, mode.max_tenant_exposure_pct)
    findings = [
        Finding(
            "rollout_mode.initial",
            facts.strategy == mode.initial,
            f"strategy {facts.strategy} (need {mode.initial})",
            from_settings=True,
        ),
        Finding(
            "rollout_mode.max_tenant_exposure_pct",
            planned <= allowed,
            f"the canary runs in at most {planned} of {facts.tenant_count} tenants "
            f"({planned / facts.tenant_count:.0%}) until `exposure: all`: canary.max_tenant_exposure_pct "
            f"{facts.max_tenant_exposure_pct:g}% rounded down, at least one; the checklist allows {allowed} "
            f"({mode.max_tenant_exposure_pct:g}%, at least one)",
            from_settings=True,
        ),
    ]
    if mode.require_shadow_period:
        findings.append(
            Finding(
                "rollout_mode.require_shadow_period",
                facts.shadow_stage,
                "the canary policy starts with the shadow stage (weight 0)"
                if facts.shadow_stage
                else "the canary policy's weights do not start with 0 (no shadow stage): start canary.weights "
                "with 0 (and set canary.shadow_duration)",
                from_settings=True,
            )
        )
    return findings


def _required(item: str, checklist: RolloutChecklist, facts: AgentFacts, evidence: dict[str, Any]) -> Finding:
    name = f"require.{item}"
    if item == "slo_defined":
        return Finding(
            name,
            facts.slo_defined,
            "the observability bundle defines SLOs for the agent"
            if facts.slo_defined
            else "no SLO objectives in the stack settings",
            from_settings=True,
        )
    if item == "rollback_plan":
        return Finding(
            name, facts.rollback_policy == "rollback", f"canary policy {facts.rollback_policy}", from_settings=True
        )
    if item == "oncall_owner":
        ok = bool(facts.owner and facts.oncall_receiver)
        return Finding(
            name,
            ok,
            f"owner {facts.owner or '(none)'}, on-call receiver {facts.oncall_receiver or '(none)'}",
            from_settings=True,
        )
    if item == "trace_coverage":
        coverage = _number(evidence.get("trace_coverage"))
        if coverage is None:
            return Finding(name, False, "trace_coverage missing from the checklist evidence")
        return Finding(
            name,
            coverage >= checklist.min_trace_coverage,
            f"{coverage:g} of runs traced (need ≥ {checklist.min_trace_coverage:g})",
        )
    if item == "capability_owners":
        owners = evidence.get("capability_owners")
        if not isinstance(owners, dict):
            return Finding(name, False, "capability_owners missing from the checklist evidence")
        missing = [c for c in facts.capabilities if not owners.get(c)]
        return Finding(name, not missing, f"no owner for {', '.join(missing)}" if missing else "every capability owned")
    value = evidence.get(item)
    if not isinstance(value, bool):
        return Finding(name, False, f"{item} missing from the checklist evidence")
    return Finding(name, value, "true" if value else "false in the checklist evidence")
