"""Smoke checks right after `pulumi up`: every agent's health endpoints in every tenant, and one synthetic
session per changed agent. Not the SLO gate (that needs the stage's minimum duration); this catches a
release that does not start or cannot answer at all.

    python .github/scripts/smoke.py --stack staging [--agents "support-bot invoice-extractor"]

Talks to pods and Services through the Kubernetes API server's proxy (`kubectl get/create --raw`), so it
needs only the kubeconfig the deploy role gets, no ingress or port-forward. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from policy import stack_settings

Kubectl = Callable[[list[str], str | None], tuple[int, str]]
"""(arguments after `kubectl`, request body or None) -> (exit status, stdout+stderr)."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def kubectl(args: list[str], body: str | None = None) -> tuple[int, str]:
    command = ["kubectl", "--request-timeout=20s", *args]
    if body is None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    else:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
            file.write(body)
            file.flush()
            result = subprocess.run([*command, "-f", file.name], capture_output=True, text=True, timeout=60)
    return result.returncode, (result.stdout + result.stderr).strip()


def health_checks(run: Kubectl, namespace: str, agent: str, port: int) -> list[Check]:
    status, pods = run(
        [
            "get",
            "pods",
            "-n",
            namespace,
            "-l",
            f"agent-id={agent}",
            "--field-selector=status.phase=Running",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
        None,
    )
    names = pods.split() if status == 0 else []
    if not names:
        return [Check(f"{namespace}/{agent} pods", False, pods or "no running pods")]
    checks = []
    for pod in names:
        for path in ("/health/live", "/health/ready"):
            code, out = run(["get", "--raw", f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy{path}"], None)
            checks.append(Check(f"{namespace}/{pod} {path}", code == 0, out[:200]))
    return checks


def synthetic_session(run: Kubectl, namespace: str, agent: str, tenant: str) -> Check:
    body = json.dumps({"agent_id": agent, "tenant_id": tenant, "synthetic": True, "input": "smoke check: say ok"})
    path = f"/api/v1/namespaces/{namespace}/services/{agent}:http/proxy/api/v1/sessions"
    code, out = run(["create", "--raw", path], body)
    return Check(f"{namespace}/{agent} synthetic session", code == 0, out[:200])


def smoke(stack: str, agents: list[str] | None, run: Kubectl = kubectl) -> list[Check]:
    settings = stack_settings.load(stack)
    checks: list[Check] = []
    for agent in settings.agents:
        namespaces = [(t, settings.namespace(t)) for t in agent.tenants]
        for _, namespace in namespaces:
            checks += health_checks(run, namespace, agent.id, agent.lifecycle_port)
        if agents is None or agent.id in agents:
            tenant, namespace = namespaces[0]
            checks.append(synthetic_session(run, namespace, agent.id, tenant))
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--agents", help="space-separated agents that changed (default: all)")
    args = parser.parse_args(argv)
    checks = smoke(args.stack, args.agents.split() if args.agents is not None else None)
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}{'' if check.ok else ': ' + check.detail}")
    failed = sum(not c.ok for c in checks)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
