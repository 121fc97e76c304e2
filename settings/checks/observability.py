"""Observability rules: measurable latency thresholds, recorded burn windows, names the runtime exports."""

from __future__ import annotations

from collections.abc import Iterator

from conventions import metrics as catalog
from settings.errors import Problem
from settings.gates import GATE_UNIT_SECONDS
from settings.slo import seconds
from settings.stack import StackSettings

OPERATIONAL_WINDOW = "5m"


def latency_thresholds_are_buckets(s: StackSettings) -> Iterator[Problem]:
    buckets = ", ".join(format(b, "g") for b in catalog.LATENCY_BUCKETS)
    for index, objective in enumerate(s.slo.latency):
        if not catalog.has_boundary(objective.threshold_seconds):
            yield Problem(
                f"slo.latency[{index}].threshold_seconds",
                f"{objective.threshold_seconds:g} is not a bucket boundary of {catalog.REQUEST_DURATION.name}; "
                f"allowed: {buckets}",
            )


def burn_windows_are_recorded(s: StackSettings) -> Iterator[Problem]:
    recorded = s.slo.sli_windows
    for index, burn in enumerate(s.slo.burn_rates):
        for field in ("long_window", "short_window"):
            window = getattr(burn, field)
            if window not in recorded:
                yield Problem(
                    f"slo.burn_rates[{index}].{field}",
                    f"{window!r} is not recorded; allowed: the slo.sli_windows {recorded}",
                )
    if OPERATIONAL_WINDOW not in recorded:
        yield Problem("slo.sli_windows", f"{recorded} must include {OPERATIONAL_WINDOW!r} (operational alerts)")


def error_burn_rates_can_fire(s: StackSettings) -> Iterator[Problem]:
    for index, burn in enumerate(s.slo.burn_rates):
        if burn.factor * s.slo.error_rate_objective >= 1:
            yield Problem(
                f"slo.burn_rates[{index}].factor",
                f"{burn.factor:g} x the error-rate budget {s.slo.error_rate_objective:g} is 100% or more: "
                f"the alert could never fire; allowed: below {1 / s.slo.error_rate_objective:g}",
            )


def metric_names_are_in_catalog(s: StackSettings) -> Iterator[Problem]:
    exported = catalog.REQUESTS.labels
    for field, value in s.names.metric_labels.model_dump().items():
        if value not in exported:
            yield Problem(
                f"names.metric_labels.{field}",
                f"{value!r} is not a label of {catalog.REQUESTS.name}; allowed: {', '.join(exported)}",
            )
    if s.names.synthetic_session_metric not in catalog.known_series():
        yield Problem(
            "names.synthetic_session_metric",
            f"{s.names.synthetic_session_metric!r} is not in the metrics catalog (conventions/metrics.py); "
            f"allowed: {catalog.SYNTHETIC_SESSION.name}",
        )


def escalation_thresholds_increase(s: StackSettings) -> Iterator[Problem]:
    alerts = s.observability.alerts
    for weak, strong in (("memory_pressure", "memory_exhaustion"), ("cpu_throttling", "cpu_throttling_severe")):
        if getattr(alerts, strong) <= getattr(alerts, weak):
            yield Problem(
                f"observability.alerts.{strong}",
                f"{getattr(alerts, strong):g} must be greater than {weak} ({getattr(alerts, weak):g})",
            )


def scrapes_fill_gate_units(s: StackSettings) -> Iterator[Problem]:
    scrape = seconds(s.observability.scrape_interval)
    if 2 * scrape > GATE_UNIT_SECONDS:
        yield Problem(
            "observability.scrape_interval",
            f"{s.observability.scrape_interval} leaves fewer than two samples per minute: the SLO gate counts "
            f"per {GATE_UNIT_SECONDS}s to tell bursts from regressions; allowed: {GATE_UNIT_SECONDS // 2}s or less",
        )


MONITORING_CHART = "kube-prometheus-stack"


def _chart_selector(spec: dict[str, object], kind: str, release: str) -> dict[str, str]:
    """The labels the chart gives its Prometheus's `<kind>Selector` (templates/prometheus/prometheus.yaml):
    the value if set, else `release: <release>` while `<kind>SelectorNilUsesHelmValues` (default true)."""
    given = spec.get(f"{kind}Selector")
    if isinstance(given, dict) and given:
        return dict(given.get("matchLabels") or {})
    if spec.get(f"{kind}SelectorNilUsesHelmValues", True):
        return {"release": release}
    return {}


def installed_prometheus_selects_platform_objects(s: StackSettings) -> Iterator[Problem]:
    if not s.cluster.install_addons:
        return
    for release, addon in sorted(s.cluster.addons.items()):
        if addon.chart != MONITORING_CHART:
            continue
        prometheus = addon.values.get("prometheus")
        spec = prometheus.get("prometheusSpec", {}) if isinstance(prometheus, dict) else {}
        for field, kind in (("prometheus_selector", "serviceMonitor"), ("rule_selector", "rule")):
            labels: dict[str, str] = getattr(s.observability, field)
            wanted = _chart_selector(spec, kind, release)
            if any(labels.get(k) != v for k, v in wanted.items()):
                yield Problem(
                    f"observability.{field}",
                    f"{labels} is not selected by the {release!r} release's Prometheus, which loads only "
                    f"{kind}s labelled {wanted}; add those labels",
                )


def receiver_values_all_or_none(s: StackSettings) -> Iterator[Problem]:
    """The stack creates the receivers' Secret only with every value; a partial Secret would make the Prometheus
    Operator reject each tenant's whole AlertmanagerConfig (a referenced key it cannot read)."""
    configured = s.observability.receivers
    if not any(r.value is not None for r in configured.values()):
        return
    used = {a.oncall_receiver for a in s.agents} | set(s.observability.ticket_receivers.values())
    missing = sorted(name for name in used if name not in configured or configured[name].value is None)
    if missing:
        yield Problem(
            "observability.receivers",
            f"{', '.join(missing)} {'has' if len(missing) == 1 else 'have'} no value while others do; set each with "
            f"`pulumi config set --secret --path 'agent-platform:observability.receivers.<name>.value' <url or key>` "
            "or remove every value and create the Secret by hand (docs/alert-receivers.md)",
        )


RULES = [
    receiver_values_all_or_none,
    installed_prometheus_selects_platform_objects,
    latency_thresholds_are_buckets,
    scrapes_fill_gate_units,
    burn_windows_are_recorded,
    error_burn_rates_can_fire,
    metric_names_are_in_catalog,
    escalation_thresholds_increase,
]
