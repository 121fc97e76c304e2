"""One Grafana dashboard per agent (all its tenants, with a tenant picker), as plain dashboard JSON.

Panels read the recorded SLO series where one exists, so the dashboard shows what the alerts see;
resource panels join cAdvisor series to the agent through `kube_pod_labels`.
"""

from __future__ import annotations

from typing import Any

from alerting.slo_rules import QUANTILE_WINDOW, QUANTILES, REQUEST_RATE_WINDOW
from conventions import slo_series as c
from conventions.metrics import CONTAINER_CPU, CONTAINER_MEMORY, KSM_POD_LABELS, LLM_COST, LLM_TOKENS

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
COST_WINDOW = "30d"


def dashboard_uid(agent_id: str) -> str:
    return f"agent-{agent_id}"[:40]


def _target(expr: str, legend: str, ref: str, instant: bool = False) -> dict[str, Any]:
    target: dict[str, Any] = {"refId": ref, "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
    if instant:
        target |= {"instant": True, "range": False, "format": "table"}
    return target


def _panel(
    panel_id: int, title: str, kind: str, targets: list[dict[str, Any]], unit: str, x: int, y: int, w: int = 12
) -> dict[str, Any]:
    return {
        "id": panel_id,
        "title": title,
        "type": kind,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": targets,
    }


def agent_dashboard(agent_id: str, tenant_ids: list[str]) -> dict[str, Any]:
    agent = f'agent_id="{agent_id}",tenant_id=~"$tenant"'
    pods = f'max by (namespace, pod) ({KSM_POD_LABELS.name}{{label_agent_id="{agent_id}",label_tenant_id=~"$tenant"}})'
    errors = f'{c.SLO_LABEL}="{c.SLO_ERRORS}"'
    quantile_targets = [
        _target(
            f"{c.VERSION_LATENCY_QUANTILE.format(quantile=name, window=QUANTILE_WINDOW)}{{{agent}}}",
            f"{name} {{{{version}}}} {{{{tenant_id}}}}",
            chr(ord("A") + i),
        )
        for i, name in enumerate(QUANTILES)
    ]
    rate = c.windowed(c.REQUEST_RATE, REQUEST_RATE_WINDOW)
    panels = [
        _panel(
            1,
            "Request rate",
            "timeseries",
            [_target(f"sum by (tenant_id) ({rate}{{{agent}}})", "{{tenant_id}}", "A")],
            "reqps",
            0,
            0,
        ),
        _panel(
            2,
            "Error ratio (5m)",
            "timeseries",
            [_target(f"{c.windowed(c.SLI_ERROR_RATIO, '5m')}{{{agent},{errors}}}", "{{tenant_id}}", "A")],
            "percentunit",
            12,
            0,
        ),
        _panel(3, "Latency p50 / p95 / p99 by version", "timeseries", quantile_targets, "s", 0, 8, 24),
        _panel(
            4,
            "SLO burn rate (5m)",
            "timeseries",
            [_target(f"{c.CURRENT_BURN_RATE}{{{agent}}}", "{{slo}} {{tenant_id}}", "A")],
            "x",
            0,
            16,
        ),
        _panel(
            5,
            "Error budget remaining",
            "bargauge",
            [_target(f"{c.BUDGET_REMAINING}{{{agent}}}", "{{slo}} {{tenant_id}}", "A", instant=True)],
            "percentunit",
            12,
            16,
        ),
        _panel(
            6,
            "CPU",
            "timeseries",
            [
                _target(
                    f'sum by (pod) (rate({CONTAINER_CPU.name}{{container!="",container!="POD"}}[5m])'
                    f" * on(namespace, pod) group_left() {pods})",
                    "{{pod}}",
                    "A",
                )
            ],
            "cores",
            0,
            24,
        ),
        _panel(
            7,
            "Memory (working set)",
            "timeseries",
            [
                _target(
                    f'sum by (pod) ({CONTAINER_MEMORY.name}{{container!="",container!="POD"}}'
                    f" * on(namespace, pod) group_left() {pods})",
                    "{{pod}}",
                    "A",
                )
            ],
            "bytes",
            12,
            24,
        ),
        _panel(
            8,
            "Ready pods",
            "timeseries",
            [_target(f"{c.READY_PODS}{{{agent}}}", "{{tenant_id}}", "A")],
            "short",
            0,
            32,
        ),
        _panel(
            9,
            f"LLM tokens ({COST_WINDOW})",
            "stat",
            [
                _target(
                    f"sum by (tenant_id) (increase({LLM_TOKENS.name}{{{agent}}}[{COST_WINDOW}]))", "{{tenant_id}}", "A"
                )
            ],
            "short",
            12,
            32,
        ),
        _panel(
            10,
            f"LLM cost ({COST_WINDOW})",
            "stat",
            [
                _target(
                    f"sum by (tenant_id) (increase({LLM_COST.name}{{{agent}}}[{COST_WINDOW}]))", "{{tenant_id}}", "A"
                )
            ],
            "currencyUSD",
            0,
            40,
        ),
        _panel(
            11,
            "Per tenant",
            "table",
            [
                _target(f"sum by (tenant_id) ({rate}{{{agent}}})", "requests/s", "A", instant=True),
                _target(
                    f"{c.windowed(c.SLI_ERROR_RATIO, '1d')}{{{agent},{errors}}}", "error ratio 1d", "B", instant=True
                ),
                _target(f"{c.BUDGET_REMAINING}{{{agent},{errors}}}", "error budget left", "C", instant=True),
            ],
            "short",
            12,
            40,
        ),
    ]
    return {
        "uid": dashboard_uid(agent_id),
        "title": f"Agent {agent_id}",
        "tags": ["agent-platform", "agent", agent_id],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": False,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
                {
                    "name": "tenant",
                    "type": "custom",
                    "label": "Tenant",
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "query": ",".join(tenant_ids),
                    "current": {"text": "All", "value": "$__all"},
                    "options": [],
                },
            ]
        },
        "panels": panels,
    }


def panel_queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
