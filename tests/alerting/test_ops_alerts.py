"""Operational, canary, cost and agent alerts under `promtool test rules`: each fires on the series written
here, and stays silent on a near miss in the same file (a rule file that failed to load fails the former)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.alerting.conftest import NAMESPACE, default_groups, expect, run_promtool_tests, series

POD = {"pod": "bot-0", "container": "agent"}


def raw(name: str, values: str, **labels: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in {"namespace": NAMESPACE, **labels}.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def pod_labels() -> dict[str, str]:
    return raw("kube_pod_labels", "1x300", pod="bot-0", label_agent_id="bot", label_tenant_id="t1")


def check(alert: str, at: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alert, "exp_alerts": expected}


def case(name: str, inputs: list[dict[str, str]], *checks: dict[str, Any], interval: str = "1m") -> dict[str, Any]:
    return {"name": name, "interval": interval, "input_series": inputs, "alert_rule_test": list(checks)}


def requests(track: str, version: str, ok: int, failed: int) -> list[dict[str, str]]:
    labels = {"track": track, "version": version, "capability": "answer"}
    return [
        series("agent_requests_total", f"0+{ok}x30", status="ok", **labels),
        series("agent_requests_total", f"0+{failed}x30", status="error", **labels),
    ]


def latency(per_bucket: dict[str, int]) -> list[dict[str, str]]:
    labels = {"track": "stable", "version": "1.0.0", "capability": "answer"}
    found = [
        series("agent_request_duration_seconds_bucket", f"0+{n}x30", le=le, **labels) for le, n in per_bucket.items()
    ]
    found.append(series("agent_request_duration_seconds_bucket", "0+600x30", le="+Inf", **labels))
    found.append(series("agent_request_duration_seconds_count", "0+600x30", **labels))
    return [*found, *requests("stable", "1.0.0", 600, 0)]


def test_pod_request_canary_and_agent_alerts(tmp_path: Path) -> None:
    g = default_groups()
    slow = {"0.1": 0, "0.5": 0, "1.0": 600, "2.0": 600}
    very_slow = {"0.1": 0, "0.5": 0, "1.0": 0, "2.0": 600}
    fast = {"0.1": 600, "0.5": 600, "1.0": 600, "2.0": 600}
    memory = "container_memory_working_set_bytes"
    # kube-state-metrics exports every resource's limit under one name; a CPU limit must not count as memory.
    limits = "kube_pod_container_resource_limits"
    cpu_limit = raw(limits, "2x20", resource="cpu", unit="core", **POD)
    tests = [
        case(
            "p95 between 0.5s and 1s is over its objective but not over twice it",
            latency(slow),
            check(
                "AgentLatencyOverSlo", "10m", [expect(g, "AgentLatencyOverSlo", "975ms", severity="P2", quantile="p95")]
            ),
            check("AgentLatencyCritical", "10m", []),
        ),
        case(
            "p95 near 2s pages",
            latency(very_slow),
            check(
                "AgentLatencyCritical",
                "10m",
                [expect(g, "AgentLatencyCritical", "1.95s", severity="P1", quantile="p95")],
            ),
        ),
        case("fast requests raise no latency alert", latency(fast), check("AgentLatencyOverSlo", "10m", [])),
        case(
            "more than 3 restarts in 10 minutes is a crash loop",
            [raw("kube_pod_container_status_restarts_total", "0+1x20", **POD), pod_labels()],
            check("AgentPodCrashLooping", "12m", [expect(g, "AgentPodCrashLooping", "10", severity="P1", **POD)]),
        ),
        case(
            "two restarts are not a crash loop",
            [raw("kube_pod_container_status_restarts_total", "0 1 2x20", **POD), pod_labels()],
            check("AgentPodCrashLooping", "12m", []),
        ),
        case(
            "a working set at 95.5% of the limit is pressure and exhaustion",
            [
                raw(memory, "955x20", **POD),
                raw(limits, "1000x20", resource="memory", unit="byte", **POD),
                pod_labels(),
            ],
            check("AgentMemoryPressure", "10m", [expect(g, "AgentMemoryPressure", "95.5%", severity="P2", **POD)]),
            check("AgentMemoryExhaustion", "10m", [expect(g, "AgentMemoryExhaustion", "95.5%", severity="P2", **POD)]),
        ),
        case(
            "half the memory limit is fine",
            [
                raw(memory, "500x20", **POD),
                raw(limits, "1000x20", resource="memory", unit="byte", **POD),
                pod_labels(),
            ],
            check("AgentMemoryPressure", "10m", []),
            check("AgentMemoryExhaustion", "10m", []),
        ),
        case(
            "a CPU limit is not a memory limit",
            [raw(memory, "955x20", **POD), cpu_limit, pod_labels()],
            check("AgentMemoryPressure", "10m", []),
            check("AgentMemoryExhaustion", "10m", []),
        ),
        case(
            "60% throttled periods for 15 minutes",
            [
                raw("container_cpu_cfs_throttled_periods_total", "0+60x30", **POD),
                raw("container_cpu_cfs_periods_total", "0+100x30", **POD),
                pod_labels(),
            ],
            check("AgentCpuThrottling", "20m", [expect(g, "AgentCpuThrottling", "60%", severity="P2", **POD)]),
            check(
                "AgentCpuThrottlingSevere", "20m", [expect(g, "AgentCpuThrottlingSevere", "60%", severity="P2", **POD)]
            ),
        ),
        case(
            "10% throttled periods is fine",
            [
                raw("container_cpu_cfs_throttled_periods_total", "0+10x30", **POD),
                raw("container_cpu_cfs_periods_total", "0+100x30", **POD),
                pod_labels(),
            ],
            check("AgentCpuThrottling", "20m", []),
            check("AgentCpuThrottlingSevere", "20m", []),
        ),
        case(
            "an HPA at its maximum for 15 minutes",
            [
                raw(
                    "kube_horizontalpodautoscaler_status_current_replicas",
                    "10x30",
                    horizontalpodautoscaler="bot-stable",
                ),
                raw("kube_horizontalpodautoscaler_spec_max_replicas", "10x30", horizontalpodautoscaler="bot-stable"),
            ],
            check("AgentHpaAtMaxReplicas", "10m", []),
            check(
                "AgentHpaAtMaxReplicas",
                "20m",
                [expect(g, "AgentHpaAtMaxReplicas", "10", severity="P2", horizontalpodautoscaler="bot-stable")],
            ),
        ),
        case(
            "an HPA below its maximum",
            [
                raw(
                    "kube_horizontalpodautoscaler_status_current_replicas", "5x30", horizontalpodautoscaler="bot-stable"
                ),
                raw("kube_horizontalpodautoscaler_spec_max_replicas", "10x30", horizontalpodautoscaler="bot-stable"),
            ],
            check("AgentHpaAtMaxReplicas", "20m", []),
        ),
        case(
            "a canary failing 2% against a stable 0.5% is worse but not a rollback",
            [*requests("stable", "1.0.0", 995, 5), *requests("canary", "2.0.0", 98, 2)],
            check(
                "AgentCanaryErrorRateAboveStable",
                "12m",
                [expect(g, "AgentCanaryErrorRateAboveStable", "2%", severity="P2", track="canary", version="2.0.0")],
            ),
            check("AgentCanaryRollback", "12m", []),
        ),
        case(
            "a canary as good as stable",
            [*requests("stable", "1.0.0", 995, 5), *requests("canary", "2.0.0", 995, 5)],
            check("AgentCanaryErrorRateAboveStable", "12m", []),
        ),
        case(
            "a canary failing 10% for 2 minutes asks for the rollback workflow",
            [*requests("stable", "1.0.0", 995, 5), *requests("canary", "2.0.0", 90, 10)],
            check("AgentCanaryRollback", "1m", []),
            check(
                "AgentCanaryRollback", "6m", [expect(g, "AgentCanaryRollback", "10%", severity="P1", version="2.0.0")]
            ),
            # The rollback reads a 1m rate, as fast as the notes ask: it needs the 15s scrape interval.
            interval="15s",
        ),
        case(
            "the synthetic session failed",
            [series("agent_synthetic_session_success", "1x5 0x10")],
            check("AgentSyntheticSessionFailing", "3m", []),
            check(
                "AgentSyntheticSessionFailing", "10m", [expect(g, "AgentSyntheticSessionFailing", "0", severity="P2")]
            ),
        ),
        case(
            "a session over 50k tokens",
            [series("agent_session_tokens_max", "10000x5 60000x5", version="1.0.0")],
            check("AgentSessionTokensHigh", "3m", []),
            check("AgentSessionTokensHigh", "8m", [expect(g, "AgentSessionTokensHigh", "60k", severity="P3")]),
        ),
        case(
            "a tool failing 20% of calls",
            [
                series("agent_tool_calls_total", "0+100x30", version="1.0.0", tool="search"),
                series("agent_tool_failures_total", "0+20x30", version="1.0.0", tool="search"),
            ],
            check(
                "AgentToolFailureRate", "10m", [expect(g, "AgentToolFailureRate", "20%", severity="P2", tool="search")]
            ),
        ),
        case(
            "a tool failing 5% of calls",
            [
                series("agent_tool_calls_total", "0+100x30", version="1.0.0", tool="search"),
                series("agent_tool_failures_total", "0+5x30", version="1.0.0", tool="search"),
            ],
            check("AgentToolFailureRate", "10m", []),
        ),
        case(
            "an LLM provider returning 10% 5xx pages",
            [
                series(
                    "agent_llm_responses_total", "0+90x30", version="1.0.0", provider="openai", model="m", code="200"
                ),
                series(
                    "agent_llm_responses_total", "0+10x30", version="1.0.0", provider="openai", model="m", code="503"
                ),
            ],
            check(
                "AgentLlmProvider5xx",
                "10m",
                [expect(g, "AgentLlmProvider5xx", "10%", severity="P1", provider="openai")],
            ),
        ),
        case(
            "an LLM provider returning 1% 5xx",
            [
                series(
                    "agent_llm_responses_total", "0+99x30", version="1.0.0", provider="openai", model="m", code="200"
                ),
                series(
                    "agent_llm_responses_total", "0+1x30", version="1.0.0", provider="openai", model="m", code="503"
                ),
            ],
            check("AgentLlmProvider5xx", "10m", []),
        ),
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)


def test_daily_tokens_against_the_same_day_last_week(tmp_path: Path) -> None:
    # Only the cost group: eight days of 30s evaluations of every rule would be slow and prove nothing more.
    # Evaluated every 5m instead of 30s: same expressions, a fraction of the steps over eight days.
    g = [{**group, "interval": "5m"} for group in default_groups() if group["name"].endswith("-cost-and-agent")]
    tokens = {"version": "1.0.0", "provider": "openai", "model": "m"}
    tests = [
        case(
            "twice last week's daily tokens",
            [series("agent_llm_tokens_total", "0+1000x168 170000+2000x30", **tokens)],
            check("AgentTokenUsageAnomaly", "193h", [expect(g, "AgentTokenUsageAnomaly", "48k", severity="P2")]),
            interval="1h",
        ),
        case(
            "the same daily tokens as last week",
            [series("agent_llm_tokens_total", "0+1000x200", **tokens)],
            check("AgentTokenUsageAnomaly", "193h", []),
            interval="1h",
        ),
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)


def test_cost_alerts_read_the_contract_series_of_their_agent_and_tenant_only(tmp_path: Path) -> None:
    """Tokens come split by `token_type` and by version (a canary beside stable): the anomaly sums them for
    the agent in its tenant. Another tenant's or another agent's series never fire this workload's alerts;
    each silent case sits beside one that fires on the same shape."""
    g = [{**group, "interval": "5m"} for group in default_groups() if group["name"].endswith("-cost-and-agent")]
    llm = {"provider": "openai", "model": "m"}
    other_tenant = {"namespace": "t2-prod", "agent_id": "bot", "tenant_id": "t2"}
    other_agent = {"namespace": NAMESPACE, "agent_id": "other", "tenant_id": "t1"}
    flat = [
        series("agent_llm_tokens_total", "0+600x200", version="1.0.0", token_type="input", **llm),
        series("agent_llm_tokens_total", "0+400x200", version="1.0.0", token_type="output", **llm),
    ]
    tests = [
        case(
            "input and output tokens of stable and a canary, together twice last week's",
            [
                series("agent_llm_tokens_total", "0+600x168 100800+900x30", version="1.0.0", token_type="input", **llm),
                series("agent_llm_tokens_total", "0+400x168 67200+600x30", version="1.0.0", token_type="output", **llm),
                series("agent_llm_tokens_total", "_x168 0+500x30", version="1.1.0", token_type="input", **llm),
            ],
            check("AgentTokenUsageAnomaly", "193h", [expect(g, "AgentTokenUsageAnomaly", "48k", severity="P2")]),
            interval="1h",
        ),
        case(
            # One case for both (eight days each): counted here, either would fire (flat + 4x is 2.5x).
            "another tenant's and another agent's tokens quadrupled, this workload's flat",
            [
                *flat,
                raw(
                    "agent_llm_tokens_total",
                    "0+1000x168 168000+4000x30",
                    version="1.0.0",
                    token_type="input",
                    **llm,
                    **other_tenant,
                ),
                raw(
                    "agent_llm_tokens_total",
                    "0+1000x168 168000+4000x30",
                    version="1.0.0",
                    token_type="input",
                    **llm,
                    **other_agent,
                ),
            ],
            check("AgentTokenUsageAnomaly", "193h", []),
            interval="1h",
        ),
        case(
            "this agent's tool failing 20% of calls",
            [
                series("agent_tool_calls_total", "0+100x30", version="1.0.0", tool="search"),
                series("agent_tool_failures_total", "0+20x30", version="1.0.0", tool="search"),
            ],
            check(
                "AgentToolFailureRate", "10m", [expect(g, "AgentToolFailureRate", "20%", severity="P2", tool="search")]
            ),
        ),
        case(
            # Counted here, 60 of 200 calls would fire.
            "another tenant's tool failing 60% of calls",
            [
                series("agent_tool_calls_total", "0+100x30", version="1.0.0", tool="search"),
                series("agent_tool_failures_total", "0+0x30", version="1.0.0", tool="search"),
                raw("agent_tool_calls_total", "0+100x30", version="1.0.0", tool="search", **other_tenant),
                raw("agent_tool_failures_total", "0+60x30", version="1.0.0", tool="search", **other_tenant),
            ],
            check("AgentToolFailureRate", "10m", []),
        ),
        case(
            "this agent's provider returning 10% 5xx",
            [
                series("agent_llm_responses_total", "0+90x30", version="1.0.0", code="200", **llm),
                series("agent_llm_responses_total", "0+10x30", version="1.0.0", code="503", **llm),
            ],
            check(
                "AgentLlmProvider5xx",
                "10m",
                [expect(g, "AgentLlmProvider5xx", "10%", severity="P1", provider="openai")],
            ),
        ),
        case(
            # Counted here, 50 of 200 responses would page.
            "another agent's provider returning 50% 5xx",
            [
                series("agent_llm_responses_total", "0+100x30", version="1.0.0", code="200", **llm),
                raw("agent_llm_responses_total", "0+50x30", version="1.0.0", code="200", **llm, **other_agent),
                raw("agent_llm_responses_total", "0+50x30", version="1.0.0", code="503", **llm, **other_agent),
            ],
            check("AgentLlmProvider5xx", "10m", []),
        ),
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)
