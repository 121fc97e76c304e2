"""The steps a new tenant needs outside the program, read from a render: the LLM API keys (secrets created
without a value), the alert receivers' Secret its AlertmanagerConfig reads, and the group its tenant-admin
RoleBinding names. `python -m stacks.render <stack> --onboarding [--diff OLD]` prints them for the tenants
that OLD does not have (every tenant without `--diff`); docs/onboarding.md explains each step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ALERTMANAGER_CONFIG = "AlertmanagerConfig"
ROLE_BINDING = "RoleBinding"
ADMIN_ROLE = "tenant-admin"


def tenants_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "outputs.json").read_text()).get("tenants") or {}


def _manifests(folder: Path, namespace: str) -> list[dict[str, Any]]:
    base = folder / "manifests" / namespace
    return [yaml.safe_load(p.read_text()) for p in sorted(base.glob("*.yaml"))] if base.is_dir() else []


def _receiver_keys(objects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Secret name -> keys, for every receiver credential an AlertmanagerConfig of the namespace reads."""
    keys: dict[str, set[str]] = {}
    for obj in objects:
        if obj.get("kind") != ALERTMANAGER_CONFIG:
            continue
        for receiver in obj.get("spec", {}).get("receivers", []):
            refs = [c.get("urlSecret") for c in receiver.get("webhookConfigs", [])]
            refs += [c.get("routingKey") for c in receiver.get("pagerdutyConfigs", [])]
            for ref in filter(None, refs):
                keys.setdefault(ref["name"], set()).add(ref["key"])
    return {name: sorted(found) for name, found in sorted(keys.items())}


def _admin_groups(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(
        s["name"]
        for obj in objects
        if obj.get("kind") == ROLE_BINDING and obj.get("roleRef", {}).get("name") == ADMIN_ROLE
        for s in obj.get("subjects", [])
        if s.get("kind") == "Group"
    )


def tenant_steps(folder: Path, tenant_id: str) -> list[str]:
    outputs = json.loads((folder / "outputs.json").read_text())
    namespace = outputs["tenants"][tenant_id]["namespace"]
    data = ((outputs.get("data") or {}).get("tenants") or {}).get(tenant_id) or {}
    objects = _manifests(folder, namespace)
    steps: list[tuple[str, list[str]]] = []
    secrets = data.get("llm_secret_arns") or {}
    if secrets:
        steps.append(
            (
                "Put the LLM API keys (until then its agent pods stay in CreateContainerConfigError):",
                [
                    f"aws secretsmanager put-secret-value --region {data.get('region')} --secret-id {arn} "
                    "--secret-string file:///dev/stdin"
                    for _, arn in sorted(secrets.items())
                ],
            )
        )
    for name, keys in _receiver_keys(objects).items():
        literals = " ".join(f"--from-literal={key}=<value>" for key in keys)
        steps.append(
            (
                f"Create the Secret {name} with one key per alert receiver (webhook URL or PagerDuty routing "
                "key); without it the Prometheus Operator drops the tenant's whole alert routing:",
                [f"kubectl -n {namespace} create secret generic {name} {literals}"],
            )
        )
    for group in _admin_groups(objects):
        steps.append(
            (
                f"Map the tenant's administrators to the Kubernetes group {group} (bound to Role {ADMIN_ROLE}), "
                "e.g. with an EKS access entry and no access policy (AmazonEKSEditPolicy or AmazonEKSAdminPolicy "
                "would let them create workloads and read Secrets):",
                [
                    "aws eks create-access-entry --cluster-name <cluster> --principal-arn <their IAM role> "
                    f"--kubernetes-groups {group}"
                ],
            )
        )
    lines = [f"Tenant {tenant_id} (namespace {namespace}): after `pulumi up`, outside the program:"]
    for number, (title, commands) in enumerate(steps, 1):
        lines += [f"  {number}. {title}", *(f"       {c}" for c in commands)]
    return lines


def onboarding(folder: Path, known: set[str]) -> str:
    """The steps for every tenant of the render at `folder` not in `known` (the earlier render's tenants)."""
    new = [t for t in sorted(tenants_of(folder)) if t not in known]
    if not new:
        return "Onboarding: no new tenant."
    return "\n".join(line for tenant in new for line in ["", *tenant_steps(folder, tenant)]).lstrip("\n")
