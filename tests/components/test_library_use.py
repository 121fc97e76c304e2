"""The components are a library: a program of another team, in its own folder, builds a TenantNamespace and
an AgentService in a namespace of its choosing with no stack file and no stack settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import json, sys
import pulumi

class Mocks(pulumi.runtime.Mocks):
    objects = []
    def new_resource(self, args):
        if "metadata" in args.inputs:
            self.objects.append([args.inputs.get("kind"), args.inputs["metadata"].get("namespace"), args.name])
        return f"{args.name}-id", args.inputs
    def call(self, args):
        return {}, None

pulumi.runtime.set_mocks(Mocks(), project="team-sandbox", stack="lab", preview=False)

from components.agent_service import AgentService, AgentServiceArgs, Scale
from components.tenant_namespace import TenantNamespace, TenantNamespaceArgs, TenantNetwork
from planning.feature_flags import resolve_flags
from planning.rollout import Release
from settings.agents import Agent
from settings.cluster import AgentNodes
from settings.names import SharedNames
from settings.tenancy import FeatureFlags, Tenant, default_tier


def program():
    tenant = Tenant(id="lab", tier="standard")
    tier = default_tier("dev", "standard")
    space = TenantNamespace("lab", TenantNamespaceArgs(
        tenant=tenant, tier=tier, namespace="team-sandbox", environment="dev",
        flags=resolve_flags(tenant, tier, FeatureFlags()),
        network=TenantNetwork(data_subnet_cidrs=["10.1.2.0/24"], vpc_cidr="10.1.0.0/16", aws_api_cidrs=[],
                              ingress_namespace="ingress", monitoring_namespace="metrics"),
        pod_security_version="1.31", lifecycle_ports=[8080], service_accounts={"echo": None},
    ))
    agent = Agent(id="echo", image="registry.example/echo", version="1.0.0", tenants=["lab"], owner="lab-team",
                  oncall_receiver="lab-oncall")
    AgentService("echo", AgentServiceArgs(
        agent=agent, tenant_id="lab", namespace="team-sandbox", environment="dev", track="stable",
        release=Release(version="1.0.0", image="registry.example/echo"),
        scale=Scale(hpa=False, min_replicas=1, max_replicas=1, replicas=1), lifecycle_state="production_rollout",
        canary_percentage=0.0, names=SharedNames(), nodes=AgentNodes(),
    ), opts=pulumi.ResourceOptions(depends_on=[space]))

pulumi.runtime.test(program)()
forbidden = sorted(m for m in sys.modules if m == "settings.stack" or m.split(".")[0] == "stacks")
print(json.dumps({"objects": Mocks.objects, "forbidden": forbidden}))
"""


def test_a_small_program_elsewhere_builds_a_namespace_and_an_agent(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text(PROGRAM)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's code, whichever one the venv installed
    done = subprocess.run(
        [sys.executable, "__main__.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["forbidden"] == [], "the components pulled in the stack settings or the composition"
    kinds = {(kind, namespace) for kind, namespace, _ in result["objects"]}
    assert ("Namespace", None) in kinds
    assert {("Deployment", "team-sandbox"), ("Service", "team-sandbox"), ("ResourceQuota", "team-sandbox")} <= kinds
    names = [name for kind, _, name in result["objects"] if kind == "Namespace"]
    assert names == ["lab-ns"]
