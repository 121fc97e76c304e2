"""The rendered observability objects of all three stacks: rule files, dashboards, monitors, routing, outputs."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from conventions import metrics as catalog
from settings import StackSettings
from settings.loader import settings_from_config
from testing.prometheus_server import binary, free_port
from tests.alerting.promql import series_names
from tests.conftest import STACKS, load_manifests

ROOT = Path(__file__).resolve().parents[2]
RULES_READY_SECONDS = 120


def load_stack_file(stack: str) -> StackSettings:
    return settings_from_config(stack, yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"])


def rule_files(folder: Path) -> list[Path]:
    return sorted((folder / "prometheus").glob("*.yaml"))


def pairs(stack: str) -> set[tuple[str, str]]:
    s = load_stack_file(stack)
    return {(a.id, t) for a in s.agents for t in a.tenants}


def groups_of(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["groups"]


def dashboards(folder: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for obj in load_manifests(folder).values():
        if obj["kind"] == "ConfigMap" and obj["metadata"].get("labels", {}).get("grafana_dashboard") == "1":
            (document,) = obj["data"].values()
            found[obj["metadata"]["name"]] = json.loads(document)
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_promtool_checks_every_rule_file(rendered: Callable[[str], Path], stack: str) -> None:
    files = rule_files(rendered(stack))
    assert len(files) == len(pairs(stack)) > 0
    result = subprocess.run([binary("promtool"), "check", "rules", *map(str, files)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in files:
        count = sum(len(g["rules"]) for g in groups_of(path))
        assert count > 100
        assert f"Checking {path}\n  SUCCESS: {count} rules found" in result.stdout


@pytest.fixture(scope="module")
def prometheus_rules(rendered: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A real Prometheus loading every stack's rule files verbatim; yields /api/v1/rules once all evaluated."""
    work = tmp_path_factory.mktemp("prometheus-rules")
    files = [str(p) for stack in STACKS for p in rule_files(rendered(stack))]
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"evaluation_interval": "30s"}, "rule_files": files}))
    port = free_port()
    log = (work / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + RULES_READY_SECONDS
        body: dict = {}
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"prometheus exited: {(work / 'prometheus.log').read_text()[-3000:]}")
            try:
                body = requests.get(f"http://127.0.0.1:{port}/api/v1/rules", timeout=2).json()
            except requests.RequestException:
                time.sleep(0.5)
                continue
            rules = [r for g in body["data"]["groups"] for r in g["rules"]]
            if rules and all(not r["lastEvaluation"].startswith("0001") for r in rules):
                break
            time.sleep(1)
        else:
            pytest.fail(f"rules not all evaluated after {RULES_READY_SECONDS}s")
        yield {"body": body, "files": files}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_rendered_rules_load_and_evaluate_in_prometheus(prometheus_rules: dict) -> None:
    groups = prometheus_rules["body"]["data"]["groups"]
    loaded = sum(len(g["rules"]) for g in groups)
    expected = sum(len(g["rules"]) for f in prometheus_rules["files"] for g in groups_of(Path(f)))
    assert {g["file"] for g in groups} == set(prometheus_rules["files"])
    assert loaded == expected
    broken = [(g["name"], r["name"], r.get("lastError")) for g in groups for r in g["rules"] if r["health"] != "ok"]
    assert broken == []


def _recorded(folder: Path) -> set[str]:
    return {r["record"] for p in rule_files(folder) for g in groups_of(p) for r in g["rules"] if "record" in r}


@pytest.mark.parametrize("stack", STACKS)
def test_rules_and_panels_use_only_catalog_or_recorded_series(rendered: Callable[[str], Path], stack: str) -> None:
    folder = rendered(stack)
    known = set(catalog.known_series()) | _recorded(folder)
    exprs = [r["expr"] for p in rule_files(folder) for g in groups_of(p) for r in g["rules"]]
    exprs += [t["expr"] for d in dashboards(folder).values() for p in d["panels"] for t in p["targets"]]
    used = set().union(*(series_names(e) for e in exprs))
    assert used - known == set()
    assert {"agent_requests_total", "agent_request_duration_seconds_bucket", "kube_pod_labels"} <= used


def test_cross_check_catches_an_unknown_series() -> None:
    assert series_names('sum(rate(agent_llm_cost_usd{agent_id="a"}[30d] offset 1w)) by (x) > bool 2') == {
        "agent_llm_cost_usd"
    }
    assert "agent_llm_cost_usd" not in catalog.known_series()


@pytest.mark.parametrize("stack", STACKS)
def test_every_slo_and_gate_threshold_is_a_bucket_boundary(stack: str) -> None:
    s = load_stack_file(stack)
    thresholds = [o.threshold_seconds for o in s.slo.latency]
    thresholds += [s.gates.slo.slow_threshold_seconds, s.gates.slo.very_slow_threshold_seconds]
    assert {0.1, 0.5, 2.0} <= set(catalog.LATENCY_BUCKETS)
    assert [t for t in thresholds if not catalog.has_boundary(t)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_one_dashboard_per_agent_with_the_required_panels(rendered: Callable[[str], Path], stack: str) -> None:
    s = load_stack_file(stack)
    found = dashboards(rendered(stack))
    assert sorted(found) == sorted(f"agent-dashboard-{a.id}" for a in s.agents)
    for agent in s.agents:
        dashboard = found[f"agent-dashboard-{agent.id}"]
        assert dashboard["uid"] == f"agent-{agent.id}"
        titles = " | ".join(p["title"] for p in dashboard["panels"])
        for needed in ("Request rate", "Error ratio", "p50 / p95 / p99 by version", "burn rate", "budget", "CPU"):
            assert needed in titles
        for needed in ("Memory", "pods", "tokens (30d)", "cost (30d)", "Per tenant"):
            assert needed in titles
        tenants = dashboard["templating"]["list"][1]["query"].split(",")
        assert tenants == agent.tenants
        assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


@pytest.mark.parametrize("stack", STACKS)
def test_service_monitor_selects_the_per_track_services(rendered: Callable[[str], Path], stack: str) -> None:
    manifests = load_manifests(rendered(stack))
    s = load_stack_file(stack)
    for agent_id, tenant_id in pairs(stack):
        namespace = s.namespace(tenant_id)
        monitor = manifests[Path(namespace) / f"servicemonitor-{agent_id}.yaml"]
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        spec = monitor["spec"]
        assert spec["selector"] == {
            "matchLabels": {"agent-id": agent_id},
            "matchExpressions": [{"key": "track", "operator": "Exists"}],
        }
        assert spec["namespaceSelector"] == {"matchNames": [namespace]}
        (endpoint,) = spec["endpoints"]
        assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("metrics", "/metrics", "15s")
        targets = {r["targetLabel"] for r in endpoint["relabelings"]}
        assert {"agent_id", "version", "tenant_id", "namespace", "track"} <= targets
        services = [
            o
            for p, o in manifests.items()
            if o["kind"] == "Service"
            and p.parts[0] == namespace
            and o["metadata"]["labels"].get("agent-id") == agent_id
        ]
        selected = {o["metadata"]["name"]: o for o in services if "track" in o["metadata"]["labels"]}
        # Only the per-track Services: the client Service would scrape every pod a second time.
        assert f"{agent_id}-stable" in selected
        assert set(selected) <= {f"{agent_id}-stable", f"{agent_id}-canary"}
        assert agent_id not in selected
        for service in selected.values():
            assert "metrics" in [port.get("name") for port in service["spec"]["ports"]]


@pytest.mark.parametrize("stack", STACKS)
def test_alert_routing_pages_each_agents_oncall(rendered: Callable[[str], Path], stack: str) -> None:
    manifests = load_manifests(rendered(stack))
    s = load_stack_file(stack)
    for tenant in s.tenants:
        agents = [a for a in s.agents if tenant.id in a.tenants]
        path = Path(s.namespace(tenant.id)) / "alertmanagerconfig-agent-alerts.yaml"
        routes = manifests[path]["spec"]["route"]["routes"]
        pages = {
            m["value"]: r["receiver"]
            for r in routes
            for m in r["matchers"]
            if m["name"] == "agent_id" and {"name": "severity", "value": "P1", "matchType": "="} in r["matchers"]
        }
        assert pages == {a.id: a.oncall_receiver for a in agents}
        tickets = {r["matchers"][0]["value"]: r["receiver"] for r in routes if len(r["matchers"]) == 1}
        assert tickets == dict(s.observability.ticket_receivers)
        receivers = manifests[path]["spec"]["receivers"]
        assert {r["name"] for r in receivers} == set(pages.values()) | set(tickets.values())
        for receiver in receivers:
            assert receiver["webhookConfigs"][0]["urlSecret"]["name"] == s.observability.receiver_secret


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_name_each_agents_dashboard_and_gate_series(rendered: Callable[[str], Path], stack: str) -> None:
    outputs = json.loads((rendered(stack) / "outputs.json").read_text())["observability"]["agents"]
    s = load_stack_file(stack)
    assert sorted(outputs) == sorted(a.id for a in s.agents)
    for agent in s.agents:
        out = outputs[agent.id]
        assert out["dashboard"]["configmap"] == f"agent-dashboard-{agent.id}"
        assert out["gate"]["requests_metric"] in catalog.known_series()
        assert out["gate"]["duration_bucket_series"] in catalog.known_series()
        assert set(out["gate"]["labels"].values()) <= set(catalog.REQUESTS.labels) | set(catalog.TARGET_LABELS)
        assert out["gate"]["error_statuses"] == s.names.error_statuses
        assert sorted(out["rules"]) == sorted(agent.tenants)


def test_every_alert_links_to_a_runbook_section(rendered: Callable[[str], Path]) -> None:
    headings = set(re.findall(r"^## (\w+)$", (ROOT / "docs" / "runbooks.md").read_text(), re.M))
    alerts = [
        r
        for stack in STACKS
        for p in rule_files(rendered(stack))
        for g in groups_of(p)
        for r in g["rules"]
        if "alert" in r
    ]
    names = {r["alert"] for r in alerts}
    assert len(names) >= 20
    assert names - headings == set()
    for rule in alerts:
        assert rule["annotations"]["runbook_url"].endswith(f"#{rule['alert'].lower()}")
        assert {"severity", "agent_id", "tenant_id"} <= set(rule["labels"])
        assert rule["labels"]["severity"] in ("P1", "P2", "P3")
        assert "{{ $value" in rule["annotations"]["description"]
        assert rule["annotations"]["summary"]
