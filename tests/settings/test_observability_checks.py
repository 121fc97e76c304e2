"""Observability settings problems, each reported on one line with the field path and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import SettingsError, validate

ROOT = Path(__file__).resolve().parents[2]


def dev_raw() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return {k.removeprefix("agent-platform:"): v for k, v in config.items() if k.startswith("agent-platform:")}


CASES = {
    "latency threshold between buckets": (
        {"slo": {"latency": [{"name": "p95", "threshold_seconds": 0.3, "target": 0.95}]}},
        "Pulumi.dev.yaml: agent-platform:slo.latency[0].threshold_seconds: 0.3 is not a bucket boundary of "
        "agent_request_duration_seconds; allowed: 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10",
    ),
    "burn window not recorded": (
        {"slo": {"burn_rates": [{"severity": "P1", "long_window": "4h", "short_window": "5m", "factor": 10}]}},
        "Pulumi.dev.yaml: agent-platform:slo.burn_rates[0].long_window: '4h' is not recorded; allowed: the "
        "slo.sli_windows ['5m', '30m', '1h', '2h', '6h', '1d', '3d']",
    ),
    "burn factor that can never fire": (
        {"slo": {"burn_rates": [{"severity": "P1", "long_window": "1h", "short_window": "5m", "factor": 300}]}},
        "Pulumi.dev.yaml: agent-platform:slo.burn_rates[0].factor: 300 x the error-rate budget 0.005 is 100% or "
        "more: the alert could never fire; allowed: below 200",
    ),
    "label the runtime does not export": (
        {"names": {"metric_labels": {"agent_id": "agent"}}},
        "Pulumi.dev.yaml: agent-platform:names.metric_labels.agent_id: 'agent' is not a label of "
        "agent_requests_total; allowed: agent_id, version, tenant_id, capability, status",
    ),
    "exhaustion below pressure": (
        {"observability": {"alerts": {"memory_pressure": 0.9, "memory_exhaustion": 0.8}}},
        "Pulumi.dev.yaml: agent-platform:observability.alerts.memory_exhaustion: 0.8 must be greater than "
        "memory_pressure (0.9)",
    ),
    "scrapes too sparse for the gate's per-minute counts": (
        {"observability": {"scrape_interval": "45s"}},
        "Pulumi.dev.yaml: agent-platform:observability.scrape_interval: 45s leaves fewer than two samples per "
        "minute: the SLO gate counts per 60s to tell bursts from regressions; allowed: 30s or less",
    ),
}


@pytest.mark.parametrize("change,expected", CASES.values(), ids=CASES.keys())
def test_observability_settings_problem(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(SettingsError) as error:
        validate("dev", {**dev_raw(), **change})
    assert error.value.lines == [expected]


def test_dev_settings_have_no_observability_problem() -> None:
    assert validate("dev", dev_raw()).observability.alerts.memory_exhaustion == 0.95


def test_installed_prometheus_must_select_the_platform_objects() -> None:
    """kube-prometheus-stack's Prometheus selects `release: <release>` unless its values set a selector; a
    ServiceMonitor or rule label that misses it is loaded by nothing (templates/prometheus/prometheus.yaml)."""
    raw = dev_raw()
    cluster = {**raw["cluster"], "install_addons": True}
    old_labels = {"prometheus_selector": {"prometheus": "kube-prometheus"}}
    with pytest.raises(SettingsError) as error:
        validate("dev", {**raw, "cluster": cluster, "observability": old_labels})
    assert error.value.lines == [
        "Pulumi.dev.yaml: agent-platform:observability.prometheus_selector: {'prometheus': 'kube-prometheus'} is "
        "not selected by the 'kube-prometheus-stack' release's Prometheus, which loads only serviceMonitors "
        "labelled {'release': 'kube-prometheus-stack'}; add those labels"
    ]
    assert validate("dev", {**raw, "cluster": cluster}).cluster.install_addons
    # Without the add-ons the cluster's own Prometheus decides; the labels are whatever it selects.
    assert validate("dev", {**raw, "observability": old_labels}).observability.prometheus_selector == {
        "prometheus": "kube-prometheus"
    }


def test_receiver_values_are_all_or_none() -> None:
    raw = dev_raw()
    partial = {"receivers": {"tickets": {"value": "https://tickets.example/hook"}}}
    with pytest.raises(SettingsError) as error:
        validate("dev", {**raw, "observability": partial}, {"observability"})
    (line,) = error.value.lines
    assert (
        line.startswith("Pulumi.dev.yaml: agent-platform:observability.receivers: ") and "no value while others" in line
    )
    with pytest.raises(SettingsError) as error:
        validate("dev", {**raw, "observability": partial})
    assert "is a secret but is stored in plain text" in error.value.lines[0]
