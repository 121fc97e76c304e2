"""promtool and Prometheus for the observability tests. A missing binary fails: a skipped rule test proves nothing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from alerting.ops_rules import OpsContext, ops_groups
from alerting.slo_rules import Group, Workload, slo_groups
from conventions.metrics import DEFAULT_ERROR_STATUSES
from settings.observability import OperationalAlerts
from settings.slo import Slo
from testing.prometheus_server import binary

AGENT, TENANT, NAMESPACE = "bot", "t1", "t1-prod"
WORKLOAD = Workload(AGENT, TENANT, NAMESPACE, True, DEFAULT_ERROR_STATUSES, "https://runbooks.example/runbooks.md")
IDENTITY = {"agent_id": AGENT, "tenant_id": TENANT, "namespace": NAMESPACE}


def default_groups() -> list[Group]:
    """The rules of one certified agent with every default objective and threshold."""
    ctx = OpsContext(stack="prod", canary_vs_stable=1.1, rollback_workflow="rollback.yml")
    return [*slo_groups(WORKLOAD, Slo(), "30s"), *ops_groups(WORKLOAD, Slo(), OperationalAlerts(), ctx, "30s")]


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in {**IDENTITY, **labels}.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def _render(template: str, labels: dict[str, str], value: str) -> str:
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)
    return re.sub(r"\{\{ \$value[^}]*\}\}", value, text)


def expect(groups: list[Group], alert: str, value: str, **labels: str) -> dict[str, Any]:
    """Expected alert: labels as given (plus the workload's), annotations with the value as promtool prints it."""
    full = {**IDENTITY, **labels}
    rules = [
        r
        for g in groups
        for r in g["rules"]
        if r.get("alert") == alert and all(full.get(k) == v for k, v in r["labels"].items())
    ]
    assert len(rules) == 1, f"{alert} {labels}: {len(rules)} rules match"
    annotations = {k: _render(v, full, value) for k, v in rules[0]["annotations"].items()}
    return {"exp_labels": full, "exp_annotations": annotations}


def run_promtool_tests(tmp: Path, groups: list[Group], tests: list[dict[str, Any]]) -> str:
    """Run `promtool test rules`; assert it loaded the rule file and ran every test."""
    rules = tmp / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    check = subprocess.run([binary("promtool"), "check", "rules", str(rules)], capture_output=True, text=True)
    count = sum(len(g["rules"]) for g in groups)
    assert f"SUCCESS: {count} rules found" in check.stdout, check.stdout + check.stderr
    spec = tmp / "tests.yaml"
    # Without an order promtool evaluates groups in Go map order, so a rule reading another group's
    # records at the same instant sees this or the previous evaluation at random: pin the file's order.
    order = [g["name"] for g in groups]
    assert len(set(order)) == len(order), f"duplicate group names: {order}"
    spec.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rules)], "evaluation_interval": "30s", "group_eval_order": order, "tests": tests},
            sort_keys=False,
        )
    )
    result = subprocess.run(
        [binary("promtool"), "test", "rules", str(spec)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
