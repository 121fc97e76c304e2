"""Operational, cost and agent alerts from the architecture notes, for one agent in one tenant namespace.

Alerts on request-derived ratios carry the same low-traffic guard as the burn-rate alerts: a ratio
needs a minimum number of bad events behind it. Pod-level alerts join cAdvisor and kube-state-metrics
series to the agent through `kube_pod_labels`, so a pod counts as the agent's by its labels, not by
a name pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerting.slo_rules import QUANTILE_WINDOW, Group, Rule, Workload, number, severity_labels
from conventions import slo_series as c
from conventions.metrics import (
    CONTAINER_MEMORY,
    CONTAINER_MEMORY_LIMIT,
    CPU_PERIODS,
    CPU_THROTTLED_PERIODS,
    KSM_HPA_CURRENT,
    KSM_HPA_MAX,
    KSM_POD_LABELS,
    KSM_RESTARTS,
    LLM_RESPONSES,
    LLM_TOKENS,
    REQUESTS,
    SESSION_TOKENS_MAX,
    SYNTHETIC_SESSION,
    TOOL_CALLS,
    TOOL_FAILURES,
    status_matcher,
)
from settings.observability import OperationalAlerts
from settings.slo import Slo

OPERATIONAL_QUANTILES = ("p95", "p99")
TOOL_WINDOW = "15m"
CONTRACT_FOR = "30m"
# Contract series every serving agent exports (docs/agent-contract.md); the reference runtime does not, so
# the alerts on them are silent until an image does, and AgentContractMetricsAbsent says so. Tool counters
# are left out: an agent without tools has none.
EVERY_AGENT_CONTRACT = tuple(m for m in (SESSION_TOKENS_MAX, LLM_RESPONSES) if not m.exported)


@dataclass(frozen=True)
class OpsContext:
    stack: str
    canary_vs_stable: float
    """The SLO gate's tolerated canary/stable error ratio; above it the canary is worse."""
    rollback_workflow: str
    synthetic_metric: str = SYNTHETIC_SESSION.name


def alert(
    w: Workload,
    name: str,
    expr: str,
    severity: str,
    summary: str,
    description: str,
    for_: str | None = None,
    **extra: str,
) -> Rule:
    rule: Rule = {
        "alert": name,
        "expr": expr,
        "labels": severity_labels(w, severity, **extra),
        "annotations": {"summary": summary, "description": description, "runbook_url": w.runbook(name)},
    }
    if for_:
        rule["for"] = for_
    return rule


def _agent_pods(w: Workload) -> str:
    return f"max by (namespace, pod) ({KSM_POD_LABELS.name}{w.pod_selector})"


def _containers(w: Workload, series: str, fn: str | None = None, extra: str = "") -> str:
    matchers = f'{{namespace="{w.namespace}",container!="",container!="POD"{extra}}}'
    inner = f"{fn}({series}{matchers}[5m])" if fn else f"{series}{matchers}"
    return f"sum by (namespace, pod, container) ({inner})"


def request_alerts(w: Workload, slo: Slo, t: OperationalAlerts) -> list[Rule]:
    errors_sel = w.selector(f'{c.SLO_LABEL}="{c.SLO_ERRORS}"')
    guard = slo.min_failed_requests_to_page
    rules = [
        alert(
            w,
            "AgentHighErrorRate",
            f"{c.windowed(c.SLI_ERROR_RATIO, '5m')}{errors_sel} > {number(slo.error_rate_objective)}\n"
            f"and {c.windowed(c.SLI_BAD_EVENTS, '5m')}{errors_sel} >= {guard}",
            "P1",
            f"{w.agent_id} in {w.tenant_id} fails more requests than its objective",
            "{{ $value | humanizePercentage }} of requests failed over 5m "
            f"(objective: under {number(slo.error_rate_objective * 100)}%).",
            "5m",
        )
    ]
    for objective in slo.latency:
        if objective.name not in OPERATIONAL_QUANTILES:
            continue
        quantile = f"{c.LATENCY_QUANTILE.format(quantile=objective.name, window=QUANTILE_WINDOW)}{w.selector()}"
        slo_matcher = f'{c.SLO_LABEL}="{c.latency_slo(objective.name)}"'
        slow = f"{c.windowed(c.SLI_BAD_EVENTS, '5m')}{w.selector(slo_matcher)}"
        threshold = objective.threshold_seconds
        rules.append(
            alert(
                w,
                "AgentLatencyOverSlo",
                f"{quantile} > {number(threshold)}\nand on() {slow} >= {guard}",
                "P2",
                f"{w.agent_id} in {w.tenant_id}: {objective.name} latency over its objective",
                f"{objective.name} latency is {{{{ $value | humanizeDuration }}}} over 5m "
                f"(objective: under {number(threshold)}s).",
                "5m",
                quantile=objective.name,
            )
        )
        if objective.name == "p95":
            rules.append(
                alert(
                    w,
                    "AgentLatencyCritical",
                    f"{quantile} > {number(threshold * t.latency_page_factor)}\nand on() {slow} >= {guard}",
                    "P1",
                    f"{w.agent_id} in {w.tenant_id}: p95 latency over {number(t.latency_page_factor)}x its objective",
                    "p95 latency is {{ $value | humanizeDuration }} for 5m "
                    f"(objective {number(threshold)}s, pages above {number(threshold * t.latency_page_factor)}s).",
                    "5m",
                    quantile=objective.name,
                )
            )
    return rules


def pod_alerts(w: Workload, t: OperationalAlerts) -> list[Rule]:
    pods = _agent_pods(w)
    limit = _containers(w, CONTAINER_MEMORY_LIMIT.name, extra=',resource="memory"')
    memory = (
        f"{_containers(w, CONTAINER_MEMORY.name)}\n"
        f"/ on(namespace, pod, container) ({limit} > 0)\n"
        f"* on(namespace, pod) group_left() {pods}"
    )
    throttling = (
        f"{_containers(w, CPU_THROTTLED_PERIODS.name, 'rate')}\n"
        f"/ on(namespace, pod, container) {_containers(w, CPU_PERIODS.name, 'rate')}\n"
        f"* on(namespace, pod) group_left() {pods}"
    )
    hpa = f'{{namespace="{w.namespace}",horizontalpodautoscaler=~"{w.agent_id}(-(stable|canary))?(-hpa)?"}}'
    return [
        alert(
            w,
            "AgentPodCrashLooping",
            f'increase({KSM_RESTARTS.name}{{namespace="{w.namespace}"}}[{t.restart_window}])\n'
            f"* on(namespace, pod) group_left() {pods}\n> {t.restarts}",
            "P1",
            f"{w.agent_id} pod {{{{ $labels.pod }}}} is crash-looping",
            f"Container {{{{ $labels.container }}}} restarted {{{{ $value }}}} times in {t.restart_window}.",
        ),
        alert(
            w,
            "AgentMemoryPressure",
            f"{memory}\n> {number(t.memory_pressure)}",
            "P2",
            f"{w.agent_id} pod {{{{ $labels.pod }}}} is near its memory limit",
            "Working set is {{ $value | humanizePercentage }} of the limit for 5m.",
            "5m",
        ),
        alert(
            w,
            "AgentMemoryExhaustion",
            f"{memory}\n> {number(t.memory_exhaustion)}",
            "P2",
            f"{w.agent_id} pod {{{{ $labels.pod }}}} is about to be OOM-killed",
            "Working set is {{ $value | humanizePercentage }} of the limit.",
            "1m",
        ),
        alert(
            w,
            "AgentCpuThrottling",
            f"{throttling}\n> {number(t.cpu_throttling)}",
            "P2",
            f"{w.agent_id} pod {{{{ $labels.pod }}}} is CPU-throttled",
            "{{ $value | humanizePercentage }} of CFS periods were throttled over 5m, for 10m.",
            "10m",
        ),
        alert(
            w,
            "AgentCpuThrottlingSevere",
            f"{throttling}\n> {number(t.cpu_throttling_severe)}",
            "P2",
            f"{w.agent_id} pod {{{{ $labels.pod }}}} is CPU-starved",
            "{{ $value | humanizePercentage }} of CFS periods were throttled over 5m.",
            "5m",
        ),
        alert(
            w,
            "AgentHpaAtMaxReplicas",
            f"{KSM_HPA_CURRENT.name}{hpa}\n>= on(namespace, horizontalpodautoscaler) {KSM_HPA_MAX.name}{hpa}",
            "P2",
            f"{w.agent_id} in {w.tenant_id} cannot scale out any further",
            f"HPA {{{{ $labels.horizontalpodautoscaler }}}} runs {{{{ $value }}}} replicas, its maximum, "
            f"for {t.hpa_at_max_for}.",
            t.hpa_at_max_for,
        ),
    ]


def canary_alerts(w: Workload, slo: Slo, t: OperationalAlerts, ctx: OpsContext) -> list[Rule]:
    failed = status_matcher(w.error_statuses)
    track_ratio = c.windowed(c.TRACK_ERROR_RATIO, "5m")
    group = "on(agent_id, tenant_id, namespace) group_left()"
    canary, stable = 'track="canary"', 'track="stable"'
    canary_failures = f"sum by (version) (increase({REQUESTS.name}{w.selector(failed, canary)}[5m]))"
    canary_rate = (
        f"sum by (version) (rate({REQUESTS.name}{w.selector(failed, canary)}[1m]))\n"
        f"/ sum by (version) (rate({REQUESTS.name}{w.selector(canary)}[1m]))"
    )
    command = f"gh workflow run {ctx.rollback_workflow} -f stack={ctx.stack} -f agent={w.agent_id}"
    return [
        alert(
            w,
            "AgentCanaryErrorRateAboveStable",
            f"{track_ratio}{w.selector(canary)}\n"
            f"> {group} ({number(ctx.canary_vs_stable)} * max by (agent_id, tenant_id, namespace) "
            f"({track_ratio}{w.selector(stable)}))\n"
            f"and on(version) {canary_failures} >= {slo.min_failed_requests_to_page}",
            "P2",
            f"{w.agent_id} canary {{{{ $labels.version }}}} fails more than stable in {w.tenant_id}",
            "Canary error ratio {{ $value | humanizePercentage }} over 5m is above "
            f"{number(ctx.canary_vs_stable)}x the stable track's.",
            "5m",
        ),
        alert(
            w,
            "AgentCanaryRollback",
            f"{canary_rate}\n> {number(t.rollback_error_ratio)}\n"
            f"and on(version) {canary_failures} >= {slo.min_failed_requests_to_page}",
            "P1",
            f"Roll back {w.agent_id} canary {{{{ $labels.version }}}} in {w.tenant_id}",
            "Canary error rate {{ $value | humanizePercentage }} over "
            f"{number(t.rollback_error_ratio * 100)}% for {t.rollback_for}. Roll back: `{command}`.",
            t.rollback_for,
        ),
    ]


def agent_alerts(w: Workload, slo: Slo, t: OperationalAlerts, ctx: OpsContext) -> list[Rule]:
    guard = slo.min_failed_requests_to_page
    tokens = f"sum(increase({LLM_TOKENS.name}{w.selector()}[1d]))"
    last_week = f"sum(increase({LLM_TOKENS.name}{w.selector()}[1d] offset 1w))"
    synthetic = f'{{agent_id="{w.agent_id}",tenant_id="{w.tenant_id}"}}'
    tool_fail = f"sum by (tool) (rate({TOOL_FAILURES.name}{w.selector()}[{TOOL_WINDOW}]))"
    tool_calls = f"sum by (tool) (rate({TOOL_CALLS.name}{w.selector()}[{TOOL_WINDOW}]))"
    tool_guard = f"sum by (tool) (increase({TOOL_FAILURES.name}{w.selector()}[{TOOL_WINDOW}]))"
    llm_5xx = w.selector('code=~"5.."')
    contract = (
        [
            alert(
                w,
                "AgentContractMetricsAbsent",
                "("
                + " or ".join(f"absent({m.name}{w.selector()})" for m in EVERY_AGENT_CONTRACT)
                + f")\nand on() sum(rate({REQUESTS.name}{w.selector()}[5m])) > 0",
                "P3",
                f"{w.agent_id} in {w.tenant_id} serves requests but does not export the contract's cost series",
                f"absent() = {{{{ $value }}}}: no {' or no '.join(m.name for m in EVERY_AGENT_CONTRACT)} for "
                f"{CONTRACT_FOR} while requests are served, so the session-token and LLM-provider alerts cannot "
                "fire. The image must export them (docs/agent-contract.md).",
                CONTRACT_FOR,
            )
        ]
        if EVERY_AGENT_CONTRACT
        else []
    )
    return [
        *contract,
        alert(
            w,
            "AgentSyntheticSessionFailing",
            f"min({ctx.synthetic_metric}{synthetic}) < 1",
            "P2",
            f"The hourly synthetic session of {w.agent_id} in {w.tenant_id} failed",
            "The last synthetic session reported {{ $value }} (1 = success).",
        ),
        alert(
            w,
            "AgentTokenUsageAnomaly",
            f"{tokens}\n> {number(t.daily_token_growth)} * {last_week}",
            "P2",
            f"{w.agent_id} in {w.tenant_id} uses far more LLM tokens than a week ago",
            f"{{{{ $value | humanize }}}} tokens in the last 24h, over {number(t.daily_token_growth)}x the same "
            "24h last week.",
            "15m",
        ),
        alert(
            w,
            "AgentSessionTokensHigh",
            f"max({SESSION_TOKENS_MAX.name}{w.selector()}) > {t.session_token_limit}",
            "P3",
            f"A session of {w.agent_id} in {w.tenant_id} used over {t.session_token_limit} tokens",
            "The largest open session has used {{ $value | humanize }} tokens; it may be stuck in a loop.",
        ),
        alert(
            w,
            "AgentToolFailureRate",
            f"{tool_fail}\n/ {tool_calls}\n> {number(t.tool_failure_ratio)}\nand {tool_guard} >= {guard}",
            "P2",
            f"Tool {{{{ $labels.tool }}}} of {w.agent_id} fails often in {w.tenant_id}",
            f"{{{{ $value | humanizePercentage }}}} of calls failed over {TOOL_WINDOW} "
            f"(alerts above {number(t.tool_failure_ratio * 100)}%).",
            "5m",
        ),
        alert(
            w,
            "AgentLlmProvider5xx",
            f"sum by (provider) (rate({LLM_RESPONSES.name}{llm_5xx}[5m]))\n"
            f"/ sum by (provider) (rate({LLM_RESPONSES.name}{w.selector()}[5m]))\n"
            f"> {number(t.llm_5xx_ratio)}\n"
            f"and sum by (provider) (increase({LLM_RESPONSES.name}{llm_5xx}[5m])) >= {guard}",
            "P1",
            f"LLM provider {{{{ $labels.provider }}}} returns 5xx to {w.agent_id}",
            f"{{{{ $value | humanizePercentage }}}} of responses were 5xx over 5m "
            f"(pages above {number(t.llm_5xx_ratio * 100)}%).",
            "5m",
        ),
    ]


def ops_groups(w: Workload, slo: Slo, t: OperationalAlerts, ctx: OpsContext, rule_interval: str) -> list[Group]:
    prefix = f"{w.agent_id}-{w.tenant_id}"
    return [
        {
            "name": f"{prefix}-operational",
            "interval": rule_interval,
            "rules": [*request_alerts(w, slo, t), *pod_alerts(w, t), *canary_alerts(w, slo, t, ctx)],
        },
        {"name": f"{prefix}-cost-and-agent", "interval": rule_interval, "rules": agent_alerts(w, slo, t, ctx)},
    ]


def alert_names(groups: list[Group]) -> list[str]:
    return sorted({r["alert"] for g in groups for r in g["rules"] if "alert" in r})


def all_rules(groups: list[Group]) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"]]
