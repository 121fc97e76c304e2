"""Resource records in the shape of `build/<stack>/resources.json`, for resources the stacks do not render
yet (agent workloads, PrometheusRules) or in states they must never reach."""

from __future__ import annotations

import copy
from typing import Any

PROJECT = "agent-platform"


def urn(type_: str, name: str, stack: str = "prod") -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def record(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    *,
    stack: str = "prod",
    parent: str | None = None,
    dependencies: list[str] | None = None,
    protect: bool = False,
) -> dict[str, Any]:
    return {
        "urn": urn(type_, name, stack),
        "type": type_,
        "name": name,
        "custom": True,
        "parent": parent,
        "provider": None,
        "dependencies": dependencies or [],
        "options": {"protect": True} if protect else {},
        "inputs": inputs,
    }


SECURE_CONTAINER: dict[str, Any] = {
    "name": "agent",
    "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot:1.4.2",
    "ports": [{"name": "http", "containerPort": 8000}, {"name": "lifecycle", "containerPort": 8080}],
    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    "livenessProbe": {"httpGet": {"path": "/health/live", "port": "lifecycle"}},
    "readinessProbe": {"httpGet": {"path": "/health/ready", "port": "lifecycle"}},
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
    },
}


def deployment(
    agent: str = "support-bot",
    tenant: str = "acme",
    track: str = "stable",
    *,
    stack: str = "prod",
    replicas: int = 3,
    container: dict[str, Any] | None = None,
    pod: dict[str, Any] | None = None,
    kind: str = "Deployment",
) -> dict[str, Any]:
    """An agent Deployment that passes every rule; `container` / `pod` fields override parts of it."""
    labels = {"app": agent, "agent-id": agent, "tenant-id": tenant, "track": track, "version": "1.4.2"}
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{**copy.deepcopy(SECURE_CONTAINER), **(container or {})}],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        **(pod or {}),
    }
    inputs: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": f"{agent}-{track}", "namespace": f"{tenant}-{stack}", "labels": labels},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels}, "spec": spec}},
    }
    type_ = {"Deployment": "kubernetes:apps/v1:Deployment", "StatefulSet": "kubernetes:apps/v1:StatefulSet"}[kind]
    return record(type_, f"{tenant}-{agent}-{track}", inputs, stack=stack)


def slo_rule(agent: str, *, alerts: bool = True, stack: str = "prod") -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"record": "slo:sli_error:ratio_rate5m", "expr": f'sum(rate(x{{agent_id="{agent}"}}[5m]))'}
    ]
    if alerts:
        rules.append({"alert": "AgentErrorBudgetBurn", "expr": f'slo:sli_error:ratio_rate5m{{agent_id="{agent}"}} > 1'})
    inputs = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": f"{agent}-slo", "namespace": "monitoring"},
        "spec": {"groups": [{"name": f"{agent}-slo", "rules": rules}]},
    }
    return record("kubernetes:monitoring.coreos.com/v1:PrometheusRule", f"{agent}-slo", inputs, stack=stack)
