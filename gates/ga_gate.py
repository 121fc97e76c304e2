"""GaReadinessGate: a dynamic resource whose creation is the decision that an agent may be `ga` in prod.

    gate = GaReadinessGate(f"{agent.id}-ga-gate", ga_spec(settings, agent), opts)
    gate.verdict   # "pass" (anything else fails the `up` with the report; nothing is stored)
    gate.report    # text, one line per finding
    gate.findings  # list of {name, passed, reason}
    gate.passed_at # ISO 8601 UTC time of the pass, from the gate's clock

For each tenant the agent serves it reads the runtime's GA readiness document (a file or URL from
`gates.ga.source`), recomputes every check from the thresholds in settings, checks the evidence's age,
and enforces the production rollout checklist. Any change of input replaces the gate: a new evaluation
(`diff` never asks for an in-place update; `update` keeps the stored verdict should one come).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from gates.ga_checks import AgentFacts, Finding, checklist_findings, freshness_finding, readiness_findings
from gates.ga_evidence import EvidenceError, load
from gates.pickling import DynamicResource
from gates.stage_clock import Clock, format_time, system_clock
from settings.agents import Agent
from settings.base import Settings
from settings.gates import GaGate, RolloutChecklist
from settings.slo import seconds
from settings.stack import StackSettings

GA_GATE_TYPE = "pulumi-python:dynamic/agent-platform:GaReadinessGate"
OUTPUT_KEYS = ("verdict", "report", "findings", "passed_at")


class GaSpec(Settings):
    agent_id: str
    sources: dict[str, str]
    checklist_source: str
    thresholds: GaGate
    checklist: RolloutChecklist
    facts: dict[str, Any]


def ga_spec(settings: StackSettings, agent: Agent) -> GaSpec:
    ga = settings.gates.ga

    def fill(template: str, tenant_id: str = "") -> str:
        namespace = settings.namespace(tenant_id) if tenant_id else ""
        return template.format(agent_id=agent.id, tenant_id=tenant_id, namespace=namespace)

    facts = AgentFacts(
        agent_id=agent.id,
        capabilities=tuple(agent.capabilities),
        owner=agent.owner,
        oncall_receiver=agent.oncall_receiver,
        strategy=agent.rollout.strategy,
        rollback_policy=agent.rollout.policy or settings.canary.policy,
        slo_defined=bool(settings.slo.latency) and settings.slo.error_rate_objective > 0,
        max_tenant_exposure_pct=settings.canary.max_tenant_exposure_pct,
        shadow_stage=settings.canary.weights[0] == 0,
        tenant_count=len(agent.tenants),
    )
    return GaSpec(
        agent_id=agent.id,
        sources={tenant: fill(ga.source, tenant) for tenant in agent.tenants},
        checklist_source=fill(ga.checklist_source),
        thresholds=ga.model_copy(update={"checklists": {}}),
        checklist=ga.checklist_for(agent.id),
        facts=asdict(facts),
    )


@dataclass(frozen=True)
class GaDecision:
    verdict: str
    findings: tuple[Finding, ...]
    title: str

    def report(self) -> str:
        failed = [f for f in self.findings if not f.passed]
        from_settings = sum(f.from_settings for f in failed)
        head = f"{self.title}: {self.verdict.upper()}"
        head += f" ({len(failed)} of {len(self.findings)} findings fail" if failed else ""
        head += f", {from_settings} from the stack settings alone)" if from_settings else ")" if failed else ""
        return "\n".join([head, *(f"  {f.line()}" for f in self.findings)])


def max_age(text: str) -> timedelta:
    return timedelta(seconds=seconds(text))


def evaluate_ga(spec: GaSpec, now: datetime, root: Path) -> GaDecision:
    findings: list[Finding] = []
    age = max_age(spec.thresholds.max_evidence_age)
    for tenant, source in sorted(spec.sources.items()):
        try:
            evidence = load(source, root)
        except EvidenceError as exc:
            findings.append(Finding(f"{tenant}: evidence", False, str(exc)))
            continue
        findings.append(freshness_finding(f"{tenant}: freshness", evidence.observed_at, now, age))
        findings += readiness_findings(evidence.document, spec.thresholds, tenant)
    try:
        checklist = load(spec.checklist_source, root)
    except EvidenceError as exc:
        findings.append(Finding("checklist: evidence", False, str(exc)))
        checklist_document: Any = {}
    else:
        findings.append(freshness_finding("checklist: freshness", checklist.observed_at, now, age))
        checklist_document = checklist.document
    findings += checklist_findings(spec.checklist, AgentFacts(**spec.facts), checklist_document)
    verdict = "pass" if findings and all(f.passed for f in findings) else "fail"
    return GaDecision(verdict, tuple(findings), f"GA readiness gate {spec.agent_id}")


class GaGateFailedError(Exception):
    """The agent is not ready for GA; the message is the report."""


class GaReadinessGateProvider(ResourceProvider):
    serialize_as_secret_always = False

    def __init__(self, clock: Clock = system_clock):
        super().__init__()
        self.clock = clock

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Every input is evidence or a threshold: any change replaces the gate, never updates it."""
        changed = [k for k in GaSpec.model_fields if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """`diff` never asks for one; should the engine call it anyway, the stored verdict is kept, not wiped.

        (The SDK's default update returns no outputs, which would erase `verdict` and `passed_at`.)
        """
        return UpdateResult({**_spec_props(news), **{k: olds.get(k) for k in OUTPUT_KEYS}})

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec_props = _spec_props(props)
        spec = GaSpec.model_validate(spec_props)
        now = self.clock()
        decision = evaluate_ga(spec, now, Path.cwd())
        if decision.verdict != "pass":
            raise GaGateFailedError(decision.report())
        outs = {
            **spec_props,
            "verdict": decision.verdict,
            "report": decision.report(),
            "findings": [asdict(f) for f in decision.findings],
            "passed_at": format_time(now),
        }
        return CreateResult(f"{spec.agent_id}/ga", outs)


def _spec_props(props: dict[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in GaSpec.model_fields if k in props}


class GaReadinessGate(DynamicResource, module="agent-platform", name="GaReadinessGate"):
    verdict: pulumi.Output[str]
    report: pulumi.Output[str]
    findings: pulumi.Output[list]
    passed_at: pulumi.Output[str]

    def __init__(
        self, name: str, spec: GaSpec, opts: pulumi.ResourceOptions | None = None, clock: Clock = system_clock
    ):
        props = {**spec.model_dump(), **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(GaReadinessGateProvider(clock), name, props, opts)
