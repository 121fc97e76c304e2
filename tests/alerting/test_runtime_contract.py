"""The metric catalog against what the agent runtime really exports (its definitions scraped through the real
prometheus_client), and the contract series it does not export made visible instead of silently unalerted."""

from __future__ import annotations

import re
from pathlib import Path

from alerting.ops_rules import EVERY_AGENT_CONTRACT
from conventions import metrics as catalog
from tests.alerting.conftest import default_groups, expect, run_promtool_tests, series
from tests.alerting.reference_runtime import scrape
from tests.alerting.test_ops_alerts import case

RUNTIME = [m for m in catalog.CATALOG.values() if m.source == "runtime"]


# Labels the contract adds to a series the runtime does export: images must add them (docs/agent-contract.md).
CONTRACT_LABELS = {catalog.LLM_TOKENS.name: {catalog.TOKEN_TYPE}}


def test_every_series_the_catalog_says_the_runtime_exports_is_in_its_scrape() -> None:
    scraped = scrape()
    for metric in (m for m in RUNTIME if m.exported):
        for name in metric.series:
            assert name in scraped.labels, f"{metric.name}: the runtime stores no {name}"
            missing = set(metric.labels) - scraped.labels[name]
            assert missing == CONTRACT_LABELS.get(metric.name, set()), name


def test_the_catalog_buckets_are_the_runtime_buckets() -> None:
    """A latency threshold without a runtime bucket matches no series: the SLI would be empty."""
    (bucket,) = [s for s in catalog.REQUEST_DURATION.series if s.endswith("_bucket")]
    assert scrape().buckets[bucket] == catalog.LATENCY_BUCKETS == catalog.REQUEST_DURATION.buckets


def test_contract_only_series_are_really_missing_from_the_runtime() -> None:
    scraped = scrape()
    contract_only = [m for m in RUNTIME if not m.exported]
    assert contract_only
    assert [s for m in contract_only for s in m.series if s in scraped.labels] == []


def test_every_alert_on_a_series_the_runtime_lacks_is_covered_by_the_contract_absence_alert() -> None:
    """Three of the cost-and-agent alerts read contract-only series; each must be watched by the absence alert
    (tool counters excepted: an agent without tools has none, docs/agent-contract.md says so)."""
    contract_only = {s: m for m in RUNTIME if not m.exported for s in m.series}
    rules = [r for g in default_groups() for r in g["rules"] if "alert" in r]
    (absence,) = [r for r in rules if r["alert"] == "AgentContractMetricsAbsent"]
    watched = set(re.findall(r"absent\((\w+)\{", absence["expr"]))
    for rule in rules:
        used = {name for name in re.findall(r"\b(agent_\w+)\{", rule["expr"]) if name in contract_only}
        unwatched = used - watched - {s for m in (catalog.TOOL_CALLS, catalog.TOOL_FAILURES) for s in m.series}
        assert not unwatched, f"{rule['alert']} reads {unwatched}, which the runtime does not export"
    assert watched == {m.name for m in EVERY_AGENT_CONTRACT}


def test_the_absence_alert_fires_without_the_contract_series_and_not_with_them(tmp_path: Path) -> None:
    g = [group for group in default_groups() if group["name"].endswith("-cost-and-agent")]
    track = {"track": "stable", "version": "1.0.0"}
    serving = [series("agent_requests_total", "0+60x60", status="ok", capability="answer", **track)]
    exported = [
        series("agent_session_tokens_max", "100x60", **track),
        series("agent_llm_responses_total", "0+60x60", provider="openai", model="m", code="200", **track),
    ]
    fired = expect(g, "AgentContractMetricsAbsent", "1", severity="P3")
    tests = [
        case(
            "serving with the reference runtime's metrics only",
            serving,
            {"eval_time": "45m", "alertname": "AgentContractMetricsAbsent", "exp_alerts": [fired]},
        ),
        case(
            "serving with the contract series",
            serving + exported,
            {"eval_time": "45m", "alertname": "AgentContractMetricsAbsent", "exp_alerts": []},
        ),
        case(
            "not serving",
            [],
            {"eval_time": "45m", "alertname": "AgentContractMetricsAbsent", "exp_alerts": []},
        ),
    ]
    assert "SUCCESS" in run_promtool_tests(tmp_path, g, tests)
