"""SLO recording rules and multi-window, multi-burn-rate alerts for one agent in one tenant namespace.

Pure functions from settings to Prometheus rule groups (plain dicts). Every rule selects the agent's
series by agent, tenant and namespace and stamps those labels on its output, so one PrometheusRule
per workload covers exactly that workload. Three things sloth and pyrra get wrong are handled here:
a page needs a minimum number of bad events in the long window (one error in forty requests wakes
nobody); when the SLI's series vanish for a running workload an alert fires (a missing metric never
reads as a perfect SLO); latency objectives count requests over a histogram boundary, and a burn rate
that cannot be reached (factor x budget >= 1, e.g. 14.4x on the p50 objective's 50% budget) is left
out instead of being generated as an alert that can never fire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conventions import slo_series as c
from conventions.metrics import (
    KSM_POD_LABELS,
    KSM_POD_READY,
    REQUEST_DURATION,
    REQUESTS,
    le_matcher,
    status_matcher,
)
from settings.slo import Slo, seconds

Rule = dict[str, Any]
Group = dict[str, Any]

QUANTILES: dict[str, float] = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
QUANTILE_WINDOW = "5m"
REQUEST_RATE_WINDOW = "1m"
BAD_MINUTE_WINDOW = "1m"
PERIOD_GROUP_INTERVAL = "1m"
ABSENT_FOR = "10m"


def number(value: float) -> str:
    """PromQL literal without float noise (0.072, not 0.07200000000000001)."""
    return format(value, ".10g")


@dataclass(frozen=True)
class Workload:
    """One agent in one tenant namespace, and what its rules need to know."""

    agent_id: str
    tenant_id: str
    namespace: str
    certified: bool
    error_statuses: tuple[str, ...]
    runbook_base_url: str

    @property
    def labels(self) -> dict[str, str]:
        return {"agent_id": self.agent_id, "tenant_id": self.tenant_id, "namespace": self.namespace}

    def selector(self, *extra: str) -> str:
        pairs = [f'{k}="{v}"' for k, v in self.labels.items()]
        return "{" + ",".join([*pairs, *extra]) + "}"

    @property
    def pod_selector(self) -> str:
        """kube-state-metrics pod labels of this agent (label keys as the allowlist exports them)."""
        return f'{{namespace="{self.namespace}",label_agent_id="{self.agent_id}"}}'

    def runbook(self, alert: str) -> str:
        return f"{self.runbook_base_url}#{alert.lower()}"

    def rate(self, series: str, window: str, *matchers: str, fn: str = "rate") -> str:
        return f"sum({fn}({series}{self.selector(*matchers)}[{window}]))"


@dataclass(frozen=True)
class Objective:
    """One SLO: how to count its bad events and the share of them over a window."""

    slo: str
    target: float
    description: str
    alert: str
    ratio: Callable[[str], str]
    bad_events: Callable[[str], str]
    extra_guard: Callable[[str], str] | None = field(default=None)

    @property
    def budget(self) -> float:
        return 1 - self.target


def error_objective(w: Workload, slo: Slo) -> Objective:
    requests = REQUESTS.name
    failed = status_matcher(w.error_statuses)

    def ratio(window: str) -> str:
        # A workload that never failed has no failed-request series: count zero, not "no data".
        return f"({w.rate(requests, window, failed)} or 0 * {w.rate(requests, window)}) / {w.rate(requests, window)}"

    def bad(window: str) -> str:
        return f"{w.rate(requests, window, failed, fn='increase')} or 0 * {w.rate(requests, window, fn='increase')}"

    return Objective(
        slo=c.SLO_ERRORS,
        target=1 - slo.error_rate_objective,
        description=f"fewer than {number(slo.error_rate_objective * 100)}% of requests fail",
        alert="AgentErrorRateBudgetBurn",
        ratio=ratio,
        bad_events=bad,
    )


def latency_objectives(w: Workload, slo: Slo) -> list[Objective]:
    bucket, count = REQUEST_DURATION.series[0], REQUEST_DURATION.series[1]
    objectives = []
    for objective in slo.latency:
        le = le_matcher(objective.threshold_seconds)

        def ratio(window: str, le: str = le) -> str:
            return f"1 - ({w.rate(bucket, window, le)} / {w.rate(count, window)})"

        def bad(window: str, le: str = le) -> str:
            return f"{w.rate(count, window, fn='increase')} - {w.rate(bucket, window, le, fn='increase')}"

        objectives.append(
            Objective(
                slo=c.latency_slo(objective.name),
                target=objective.target,
                description=(
                    f"{number(objective.target * 100)}% of requests finish within "
                    f"{number(objective.threshold_seconds)}s"
                ),
                alert="AgentLatencyBudgetBurn",
                ratio=ratio,
                bad_events=bad,
            )
        )
    return objectives


def availability_objective(w: Workload, slo: Slo) -> Objective:
    minute = f"{c.BAD_MINUTE}{w.selector()}"
    errors = error_objective(w, slo)

    def bad(window: str) -> str:
        # Failed requests, not bad minutes: the low-traffic guard asks for real failures ...
        return errors.bad_events(window)

    def no_ready_pod(window: str) -> str:
        # ... or a stretch without a ready pod, which needs no traffic to be an outage.
        return f"min_over_time({c.READY_PODS}{w.selector()}[{window}]) < 1"

    return Objective(
        slo=c.SLO_AVAILABILITY,
        target=slo.availability_target,
        description=f"{number(slo.availability_target * 100)}% of minutes are good over {slo.period}",
        alert="AgentAvailabilityBudgetBurn",
        ratio=lambda window: f"avg_over_time({minute}[{window}])",
        bad_events=bad,
        extra_guard=no_ready_pod,
    )


def objectives(w: Workload, slo: Slo) -> list[Objective]:
    found = [error_objective(w, slo), *latency_objectives(w, slo)]
    if w.certified:
        found.append(availability_objective(w, slo))
    return found


def record(name: str, expr: str, labels: dict[str, str]) -> Rule:
    return {"record": name, "expr": expr, "labels": dict(labels)}


def workload_rules(w: Workload, slo: Slo) -> list[Rule]:
    """Series the SLIs and dashboards build on: ready pods, the bad-minute flag, throughput, quantiles."""
    pods = (
        f'sum({KSM_POD_READY.name}{{namespace="{w.namespace}",condition="true"}}'
        f" * on(namespace, pod) group_left() {KSM_POD_LABELS.name}{w.pod_selector}) or vector(0)"
    )
    failed = status_matcher(w.error_statuses)
    requests = REQUESTS.name
    error_minute = (
        f"({w.rate(requests, BAD_MINUTE_WINDOW, failed)} / {w.rate(requests, BAD_MINUTE_WINDOW)}"
        f" > bool {number(slo.error_rate_objective)}) or vector(0)"
    )
    rules = [
        record(c.READY_PODS, pods, w.labels),
        record(
            c.BAD_MINUTE,
            f"clamp_max(({c.READY_PODS}{w.selector()} < bool 1) + on() ({error_minute}), 1)",
            w.labels,
        ),
        record(c.windowed(c.REQUEST_RATE, REQUEST_RATE_WINDOW), w.rate(requests, REQUEST_RATE_WINDOW), w.labels),
        record(
            c.windowed(c.CAPACITY_RATIO, REQUEST_RATE_WINDOW),
            f"{c.windowed(c.REQUEST_RATE, REQUEST_RATE_WINDOW)}{w.selector()} / {number(slo.capacity_rps)}",
            w.labels,
        ),
    ]
    bucket = REQUEST_DURATION.series[0]
    for name, q in QUANTILES.items():
        rules.append(
            record(
                c.LATENCY_QUANTILE.format(quantile=name, window=QUANTILE_WINDOW),
                f"histogram_quantile({q}, sum by (le) (rate({bucket}{w.selector()}[{QUANTILE_WINDOW}])))",
                w.labels,
            )
        )
        rules.append(
            record(
                c.VERSION_LATENCY_QUANTILE.format(quantile=name, window=QUANTILE_WINDOW),
                f"histogram_quantile({q}, sum by (version, le) (rate({bucket}{w.selector()}[{QUANTILE_WINDOW}])))",
                w.labels,
            )
        )
    rules.append(
        record(
            c.windowed(c.TRACK_ERROR_RATIO, "5m"),
            f"(sum by (track, version) (rate({requests}{w.selector(failed)}[5m]))"
            f" or 0 * sum by (track, version) (rate({requests}{w.selector()}[5m])))"
            f" / sum by (track, version) (rate({requests}{w.selector()}[5m]))",
            w.labels,
        )
    )
    return rules


def sli_rules(w: Workload, slo: Slo) -> list[Rule]:
    rules = []
    for o in objectives(w, slo):
        labels = {**w.labels, c.SLO_LABEL: o.slo}
        for window in slo.sli_windows:
            rules.append(record(c.windowed(c.SLI_ERROR_RATIO, window), o.ratio(window), labels))
            rules.append(record(c.windowed(c.SLI_BAD_EVENTS, window), o.bad_events(window), labels))
    return rules


def period_rules(w: Workload, slo: Slo) -> list[Rule]:
    """Objective, budget and what is left of it over the SLO period, for dashboards."""
    rules = []
    days = seconds(slo.period) / 86400
    for o in objectives(w, slo):
        labels = {**w.labels, c.SLO_LABEL: o.slo}
        sel = w.selector(f'{c.SLO_LABEL}="{o.slo}"')
        short = c.windowed(c.SLI_ERROR_RATIO, slo.sli_windows[0])
        period_ratio = (
            f"avg_over_time({c.BAD_MINUTE}{w.selector()}[{slo.period}])"
            if o.slo == c.SLO_AVAILABILITY
            else f"avg_over_time({short}{sel}[{slo.period}])"
        )
        rules += [
            record(c.OBJECTIVE, f"vector({number(o.target)})", labels),
            record(c.ERROR_BUDGET, f"vector({number(o.budget)})", labels),
            record(c.TIME_PERIOD_DAYS, f"vector({number(days)})", labels),
            record(c.CURRENT_BURN_RATE, f"{short}{sel} / on() group_left() {c.ERROR_BUDGET}{sel}", labels),
            record(c.PERIOD_BURN_RATE, f"{period_ratio} / on() group_left() {c.ERROR_BUDGET}{sel}", labels),
            record(c.BUDGET_REMAINING, f"1 - {c.PERIOD_BURN_RATE}{sel}", labels),
        ]
    return rules


def severity_labels(w: Workload, severity: str, **extra: str) -> dict[str, str]:
    return {c.SEVERITY: severity, **w.labels, **extra}


def burn_alerts(w: Workload, slo: Slo, min_bad_events: int) -> list[Rule]:
    alerts = []
    for o in objectives(w, slo):
        sel = w.selector(f'{c.SLO_LABEL}="{o.slo}"')
        for burn in slo.burn_rates:
            threshold = burn.factor * o.budget
            if threshold >= 1:
                continue
            long_ratio = f"{c.windowed(c.SLI_ERROR_RATIO, burn.long_window)}{sel}"
            short_ratio = f"{c.windowed(c.SLI_ERROR_RATIO, burn.short_window)}{sel}"
            guard = f"{c.windowed(c.SLI_BAD_EVENTS, burn.long_window)}{sel} >= {min_bad_events}"
            if o.extra_guard is not None:
                guard = f"({guard} or on() ({o.extra_guard(burn.long_window)}))"
            expr = f"{long_ratio} > {number(threshold)}\nand {short_ratio} > {number(threshold)}\nand on() ({guard})"
            alerts.append(
                {
                    "alert": o.alert,
                    "expr": expr,
                    "labels": severity_labels(
                        w, burn.severity, **{c.SLO_LABEL: o.slo, c.BURN_WINDOW: burn.long_window}
                    ),
                    "annotations": {
                        "summary": (
                            f"{w.agent_id} in {w.tenant_id} burns its {o.slo} error budget "
                            f"{number(burn.factor)}x too fast"
                        ),
                        "description": (
                            f"Objective: {o.description}. Bad share over {burn.long_window} is "
                            "{{ $value | humanizePercentage }} "
                            f"(over {burn.short_window} too), above {number(burn.factor)}x the budget "
                            f"({number(threshold * 100)}%), with at least {min_bad_events} bad events."
                        ),
                        "runbook_url": w.runbook(o.alert),
                    },
                }
            )
    return alerts


def absent_alert(w: Workload) -> Rule:
    """A running workload whose SLI series vanished: its SLO would otherwise read as perfect."""
    count = REQUEST_DURATION.series[1]
    return {
        "alert": "AgentSliMetricsAbsent",
        "expr": (
            f"(absent({REQUESTS.name}{w.selector()}) or absent({count}{w.selector()}))\n"
            f"and on() {c.READY_PODS}{w.selector()} > 0"
        ),
        "for": ABSENT_FOR,
        "labels": severity_labels(w, "P2"),
        "annotations": {
            "summary": f"{w.agent_id} in {w.tenant_id} runs but exports no request metrics",
            "description": (
                f"{{{{ $value }}}} ready pod(s) of {w.agent_id} in {w.namespace}, but no {REQUESTS.name} or "
                f"{count} series for {ABSENT_FOR}: the SLOs are blind, not green."
            ),
            "runbook_url": w.runbook("AgentSliMetricsAbsent"),
        },
    }


def slo_groups(w: Workload, slo: Slo, rule_interval: str) -> list[Group]:
    prefix = f"{w.agent_id}-{w.tenant_id}"
    return [
        {"name": f"{prefix}-workload", "interval": rule_interval, "rules": workload_rules(w, slo)},
        {"name": f"{prefix}-sli", "interval": rule_interval, "rules": sli_rules(w, slo)},
        {"name": f"{prefix}-slo-period", "interval": PERIOD_GROUP_INTERVAL, "rules": period_rules(w, slo)},
        {
            "name": f"{prefix}-slo-alerts",
            "interval": rule_interval,
            "rules": [*burn_alerts(w, slo, slo.min_failed_requests_to_page), absent_alert(w)],
        },
    ]
