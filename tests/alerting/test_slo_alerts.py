"""SLO alerts under `promtool test rules`, on input series written here, with the default objectives.

Each promtool file holds, for every alert it covers, a case where it fires and one where it must not:
a rule file that failed to load would fail the firing case instead of passing the silent one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerting.conftest import NAMESPACE, default_groups, expect, run_promtool_tests, series

REQ = "agent_requests_total"
STABLE = {"version": "1.0.0", "track": "stable", "capability": "answer"}


def requests(ok: str, failed: str | None = None) -> list[dict[str, str]]:
    found = [series(REQ, ok, status="ok", **STABLE)]
    if failed is not None:
        found.append(series(REQ, failed, status="error", **STABLE))
    return found


def ready_pod(values: str) -> list[dict[str, str]]:
    pod = f'namespace="{NAMESPACE}",pod="bot-0"'
    return [
        {"series": f'kube_pod_status_ready{{{pod},condition="true"}}', "values": values},
        {"series": f'kube_pod_labels{{{pod},label_agent_id="bot",label_tenant_id="t1"}}', "values": "1x100"},
    ]


def durations(per_minute: dict[str, int], total: int, minutes: int = 70) -> list[dict[str, str]]:
    found = [
        series("agent_request_duration_seconds_bucket", f"0+{n}x{minutes}", le=le, **STABLE)
        for le, n in per_minute.items()
    ]
    found.append(series("agent_request_duration_seconds_bucket", f"0+{total}x{minutes}", le="+Inf", **STABLE))
    found.append(series("agent_request_duration_seconds_count", f"0+{total}x{minutes}", **STABLE))
    return found


def check(alert: str, at: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": expected}


def test_error_rate_and_error_budget_alerts(tmp_path: Path) -> None:
    g = default_groups()

    def burn(window: str, severity: str, value: str) -> dict[str, Any]:
        return expect(
            g, "AgentErrorRateBudgetBurn", value, severity=severity, slo="requests-errors", long_window=window
        )

    pages_and_tickets = ["1h", "6h", "1d", "3d"]
    severity = {"1h": "P1", "6h": "P1", "1d": "P3", "3d": "P3"}
    tests = [
        {
            "name": "a sustained 2% error rate at 10 requests/s pages within 10 minutes",
            "interval": "1m",
            "input_series": [*requests("0+588x70", "0+12x70"), *ready_pod("1x70")],
            "alert_rule_test": [
                check("AgentHighErrorRate", "4m", []),
                check(
                    "AgentHighErrorRate",
                    "10m",
                    [expect(g, "AgentHighErrorRate", "2%", severity="P1", slo="requests-errors")],
                ),
                # 2% is 4x the 0.5% budget: tickets, not the 14.4x/6x budget pages.
                check("AgentErrorRateBudgetBurn", "10m", [burn(w, "P3", "2%") for w in ("1d", "3d")]),
            ],
        },
        {
            "name": "one failed request in forty within an hour pages nobody and opens no ticket",
            "interval": "90s",
            "input_series": [*requests("0+1x40", "0x20 1x20"), *ready_pod("1x40")],
            "alert_rule_test": [
                check(alert, at, [])
                for alert in ("AgentHighErrorRate", "AgentErrorRateBudgetBurn", "AgentAvailabilityBudgetBurn")
                for at in ("31m", "35m", "45m", "60m")
            ],
        },
        {
            "name": "10% errors burn the budget 20x and page on both windows",
            "interval": "1m",
            "input_series": [*requests("0+540x70", "0+60x70"), *ready_pod("1x70")],
            "alert_rule_test": [
                check("AgentErrorRateBudgetBurn", "10m", [burn(w, severity[w], "10%") for w in pages_and_tickets])
            ],
        },
        {
            "name": "a 3-minute spike that the 1h and 6h windows do not confirm opens tickets but pages nobody",
            "interval": "1m",
            "input_series": [*requests("0+600x57 34500 34800 35100", "0x57 300 600 900"), *ready_pod("1x60")],
            "alert_rule_test": [
                check("AgentErrorRateBudgetBurn", "60m", [burn(w, "P3", "2.5%") for w in ("1d", "3d")]),
                check("AgentHighErrorRate", "60m", []),
            ],
        },
        {
            "name": "after recovery the pages resolve and only the 3-day ticket remains",
            "interval": "1m",
            "input_series": [*requests("0+540x10 6000+600x59", "0+60x10 600x59"), *ready_pod("1x70")],
            "alert_rule_test": [
                # 71m: the series end at 70m and the alert reads the SLI recorded from the final samples.
                check("AgentErrorRateBudgetBurn", "71m", [burn("3d", "P3", "1.429%")]),
                check("AgentHighErrorRate", "71m", []),
            ],
        },
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)


def test_latency_budget_alerts(tmp_path: Path) -> None:
    g = default_groups()

    def burn(slo: str, window: str, severity: str) -> dict[str, Any]:
        return expect(g, "AgentLatencyBudgetBurn", "20%", severity=severity, slo=slo, long_window=window)

    tests = [
        {
            "name": "20% of requests over 2s page on p99 and open p95 tickets; p50 holds",
            "interval": "1m",
            "input_series": [*requests("0+600x70"), *durations({"0.1": 480, "0.5": 480, "2.0": 480}, 600)],
            "alert_rule_test": [
                check(
                    "AgentLatencyBudgetBurn",
                    "10m",
                    [
                        burn("latency-p99", "1h", "P1"),
                        burn("latency-p99", "6h", "P1"),
                        burn("latency-p99", "1d", "P3"),
                        burn("latency-p99", "3d", "P3"),
                        burn("latency-p95", "1d", "P3"),
                        burn("latency-p95", "3d", "P3"),
                    ],
                )
            ],
        },
        {
            "name": "fast requests burn no latency budget",
            "interval": "1m",
            "input_series": [*requests("0+600x70"), *durations({"0.1": 600, "0.5": 600, "2.0": 600}, 600)],
            "alert_rule_test": [check("AgentLatencyBudgetBurn", at, []) for at in ("10m", "60m")],
        },
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)


def test_availability_and_absent_metrics(tmp_path: Path) -> None:
    g = default_groups()
    fast = durations({"0.1": 600, "0.5": 600, "2.0": 600}, 600, 30)
    tests = [
        {
            "name": "a certified agent without a ready pod pages, with no traffic at all",
            "interval": "1m",
            "input_series": ready_pod("0x30"),
            "alert_rule_test": [
                check(
                    "AgentAvailabilityBudgetBurn",
                    "10m",
                    [
                        expect(g, "AgentAvailabilityBudgetBurn", "100%", severity=s, slo="availability", long_window=w)
                        for w, s in (("1h", "P1"), ("6h", "P1"), ("1d", "P3"), ("3d", "P3"))
                    ],
                )
            ],
        },
        {
            "name": "a ready, clean agent spends no availability budget and is not reported blind",
            "interval": "1m",
            "input_series": [*requests("0+600x30"), *fast, *ready_pod("1x30")],
            "alert_rule_test": [
                check("AgentAvailabilityBudgetBurn", "20m", []),
                check("AgentSliMetricsAbsent", "20m", []),
            ],
        },
        {
            "name": "a running agent that exports no request metrics is reported, not read as a perfect SLO",
            "interval": "1m",
            "input_series": ready_pod("1x30"),
            "alert_rule_test": [
                check("AgentSliMetricsAbsent", "5m", []),
                check("AgentSliMetricsAbsent", "15m", [expect(g, "AgentSliMetricsAbsent", "1", severity="P2")]),
            ],
        },
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)
