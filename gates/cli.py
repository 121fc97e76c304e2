"""Read-only gate check for pull-request CI: which gates the stack's next `up` evaluates, and their verdicts.

    python -m gates.cli prod [--json | --markdown] [--state stack.json] [--stage-started-at ISO] [--at ISO]
        [--prometheus-url URL] [--prometheus-access auto|direct|kubernetes_proxy|sigv4]

`pulumi preview` never runs a dynamic provider's `create`, so it cannot show a verdict; this command
evaluates the same gates with the same code and changes nothing. Stage start times live in the state:
pass `--state` (the output of `pulumi stack export`) or `--stage-started-at`; without either the SLO gates
report `error`. Exit status: 0 every gate passes, 1 a gate fails, 2 a gate is inconclusive, 3 a gate
could not evaluate (config, network). With several, the highest-priority is 3, then 1, then 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gates.decision import Decision
from gates.ga_gate import evaluate_ga, ga_spec
from gates.inputs import slo_gate_args
from gates.prometheus import Credentials
from gates.slo_gate import GateSpec, evaluate
from gates.stage_clock import STAGE_CLOCK_TYPE, parse_time, system_clock
from planning.feature_flags import resolve_flags
from planning.rollout import plan_rollout
from settings import SettingsError, StackSettings, stack_file
from settings.agents import Agent
from settings.stack_file import PROJECT_ROOT

EXIT = {"pass": 0, "fail": 1, "inconclusive": 2, "error": 3}
PRIORITY = ("error", "fail", "inconclusive", "pass")


@dataclass(frozen=True)
class GateResult:
    kind: str
    title: str
    verdict: str
    report: str
    checks: list[dict[str, Any]] = field(default_factory=list)


def stage_starts(state: dict[str, Any] | None) -> dict[tuple[str, str | None, int], str]:
    """StageClock outputs in a `pulumi stack export`: (agent, tenant, stage) -> applied_at."""
    resources = ((state or {}).get("deployment") or {}).get("resources") or []
    starts: dict[tuple[str, str | None, int], str] = {}
    for resource in resources:
        outputs = resource.get("outputs") or {}
        if resource.get("type") == STAGE_CLOCK_TYPE and "applied_at" in outputs:
            key = (str(outputs.get("agent_id")), outputs.get("tenant_id"), int(outputs.get("stage", -1)))
            starts[key] = outputs["applied_at"]
    return starts


def slo_gates(
    settings: StackSettings, starts: dict, default_start: str | None
) -> list[tuple[str, dict[str, Any] | None]]:
    """The gates the next `up` evaluates, as (title, provider inputs): the same plan and inputs the program
    builds, one per exposed tenant. The inputs are None when the stage's start is unknown."""
    planned: list[tuple[str, dict[str, Any] | None]] = []

    def in_cohort(tenant_id: str) -> bool:
        tenant = settings.tenant(tenant_id)
        return resolve_flags(tenant, settings.tier(tenant.tier), settings.feature_flags).canary_cohort

    for agent in settings.agents:
        plan = plan_rollout(agent, settings.environment, settings.canary, in_cohort)
        gate = plan.gate
        if gate is None or plan.canary is None:
            continue
        for tenant in plan.exposed:
            start = starts.get((agent.id, tenant, gate.previous_stage), default_start)
            inputs = None
            if start is not None:
                args = slo_gate_args(
                    plan.for_tenant(tenant),
                    gate,
                    namespace=settings.namespace(tenant),
                    agent_id=agent.id,
                    tenant_id=tenant,
                    stage_started_at=start,
                    criteria=settings.gates.slo,
                    agent_checks=settings.gates.agent,
                    connection=settings.gates.prometheus,
                    labels=settings.names.metric_labels,
                    error_statuses=settings.names.error_statuses,
                )
                inputs = args.props()
            planned.append((f"SLO gate {agent.id}/{tenant} {gate.weight}%", inputs))
    return planned


def ga_agents(settings: StackSettings) -> list[Agent]:
    return [a for a in settings.agents if settings.environment == "prod" and a.lifecycle_stage == "ga"]


def run_slo(title: str, fields: dict[str, Any] | None, now: datetime) -> GateResult:
    if fields is None:
        reason = "stage start unknown: pass --state (pulumi stack export) or --stage-started-at"
        return GateResult("slo", title, "error", f"{title}: ERROR: {reason}")
    spec = GateSpec.model_validate(fields)
    decision: Decision = evaluate(spec, now, Credentials.resolve())
    return GateResult("slo", title, decision.verdict, decision.report(title), [c.as_dict() for c in decision.checks])


def evaluate_stack(
    stack: str,
    root: Path,
    state: dict | None,
    stage_started_at: str | None,
    now: datetime,
    prometheus: dict[str, str] | None = None,
) -> list[GateResult]:
    settings = stack_file.load(stack, root)
    if prometheus:
        # For one run only (a port-forward, another route): the stack file's connection is left as it is.
        connection = settings.gates.prometheus.model_copy(update=prometheus)
        settings = settings.model_copy(update={"gates": settings.gates.model_copy(update={"prometheus": connection})})
    results = [run_slo(t, f, now) for t, f in slo_gates(settings, stage_starts(state), stage_started_at)]
    for agent in ga_agents(settings):
        decision = evaluate_ga(ga_spec(settings, agent), now, root)
        findings = [asdict(f) for f in decision.findings]
        results.append(GateResult("ga", decision.title, decision.verdict, decision.report(), findings))
    return results


def exit_status(results: list[GateResult]) -> int:
    verdicts = {r.verdict for r in results}
    return EXIT[next((v for v in PRIORITY if v in verdicts), "pass")]


def markdown(stack: str, results: list[GateResult]) -> str:
    lines = [f"### Promotion gates for `{stack}`", ""]
    if not results:
        return "\n".join([*lines, "No gate is evaluated by the next `up`."])
    lines += ["| Gate | Verdict |", "|---|---|"]
    lines += [f"| {r.title} | **{r.verdict}** |" for r in results]
    for r in results:
        lines += ["", f"<details><summary>{r.title}: {r.verdict}</summary>", "", "```", r.report, "```", "</details>"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("stack")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable results")
    output.add_argument("--markdown", action="store_true", help="a pull-request comment")
    parser.add_argument("--state", type=Path, help="`pulumi stack export` output, for the stage start times")
    parser.add_argument("--stage-started-at", help="ISO time the current stage began, when there is no --state")
    parser.add_argument("--at", help="evaluate as of this ISO time instead of now")
    parser.add_argument("--prometheus-url", help="query this Prometheus instead of gates.prometheus.url")
    parser.add_argument(
        "--prometheus-access",
        choices=("auto", "direct", "kubernetes_proxy", "sigv4"),
        help="how to reach it instead of gates.prometheus.access (gates/transport.py)",
    )
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        now = parse_time(args.at) if args.at else system_clock()
        state = json.loads(args.state.read_text()) if args.state else None
        override = {"url": args.prometheus_url, "access": args.prometheus_access}
        override = {k: v for k, v in override.items() if v}
        results = evaluate_stack(args.stack, args.root, state, args.stage_started_at, now, override)
    except (SettingsError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT["error"]
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=2))
    elif args.markdown:
        print(markdown(args.stack, results))
    else:
        print("\n\n".join(r.report for r in results) or "No gate is evaluated by the next `up`.")
    return exit_status(results)


if __name__ == "__main__":
    sys.exit(main())
