"""The components are a library: a program of another team, in its own folder, builds a TenantNamespace, an
AgentService and a CanaryRollout in a namespace of its choosing from their own Args, with no stack file, no
stack settings and no `Agent` or `Tenant` entry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = """
import json, sys
from dataclasses import replace
import pulumi

class Mocks(pulumi.runtime.Mocks):
    objects = []
    def new_resource(self, args):
        if "metadata" in args.inputs:
            spec = args.inputs.get("spec") or {}
            hosts = [rule["host"] for rule in spec.get("rules", [])] if args.inputs.get("kind") == "Ingress" else []
            self.objects.append([args.inputs.get("kind"), args.inputs["metadata"].get("namespace"), args.name, hosts])
        return f"{args.name}-id", args.inputs
    def call(self, args):
        return {}, None

pulumi.runtime.set_mocks(Mocks(), project="team-sandbox", stack="lab", preview=False)

from components.agent_service import AgentRuntime, AgentService, AgentServiceArgs, HpaTargets, Scale
from components.canary_rollout import AgentIngress, CanaryRollout, CanaryRolloutArgs, GateWiring
from components.synthetic_session import SyntheticProbe
from components.tenant_namespace import CpuMemory, LimitRange, TenantNamespace, TenantNamespaceArgs, TenantNetwork
from planning.feature_flags import TenantFlags
from planning.rollout import Release, RolloutPlan
from settings.agents import CpuMemoryPair, Probes, SyntheticRequest
from settings.cluster import AgentNodes
from settings.gates import PrometheusConnection, SloGateCriteria
from settings.names import SharedNames
from settings.tenancy import RateLimits


def program():
    space = TenantNamespace("lab", TenantNamespaceArgs(
        tenant_id="lab", sla_tier="standard", data_residency="us", admin_group="lab-admins",
        quota={"requests.cpu": "4", "requests.memory": "8Gi", "limits.cpu": "8", "limits.memory": "16Gi",
               "pods": "20", "services": "10", "persistentvolumeclaims": "5", "requests.storage": "50Gi"},
        limit_range=LimitRange(
            container_default=CpuMemory(cpu="1", memory="1Gi"),
            container_default_request=CpuMemory(cpu="250m", memory="256Mi"),
            container_max=CpuMemory(cpu="2", memory="4Gi"), container_min=CpuMemory(cpu="50m", memory="64Mi"),
            pod_max=CpuMemory(cpu="4", memory="8Gi"), pvc_min="1Gi", pvc_max="20Gi",
        ),
        namespace="team-sandbox", environment="dev",
        flags=TenantFlags(canary_cohort=False, flags={}),
        network=TenantNetwork(data_subnet_cidrs=["10.1.2.0/24"], vpc_cidr="10.1.0.0/16", aws_api_cidrs=[],
                              ingress_namespace="ingress", monitoring_namespace="metrics"),
        pod_security_version="1.31", lifecycle_ports=[8080], service_accounts={"echo": None, "greeter": None},
    ))
    runtime = AgentRuntime(
        id="echo", registry_url="https://registry.example/{agent_id}/{version}", session_state="stateless",
        sticky=False, lifecycle_port=8080, probes=Probes(),
        requests=CpuMemoryPair(cpu="250m", memory="256Mi"), limits=CpuMemoryPair(cpu="1", memory="1Gi"),
        hpa_targets=HpaTargets(cpu_utilization=70, memory_utilization=80), graceful_shutdown_seconds=30,
        prestop_delay_seconds=5, termination_grace_period_seconds=60, cache_size="1Gi", tmp_size="256Mi",
        session_storage="1Gi",
    )
    release = Release(version="1.0.0", image="registry.example/echo:1.0.0")
    AgentService("echo", AgentServiceArgs(
        runtime=runtime, tenant_id="lab", namespace="team-sandbox", environment="dev", track="stable",
        release=release, scale=Scale(hpa=False, min_replicas=1, max_replicas=1, replicas=1),
        lifecycle_state="production_rollout", canary_percentage=0.0, names=SharedNames(), nodes=AgentNodes(),
    ), opts=pulumi.ResourceOptions(depends_on=[space]))
    greeter = replace(runtime, id="greeter")
    plan = RolloutPlan(strategy="canary", stage=0, weight=0, shadow=False, promotes=False, forced_rollback=False,
                       gate=None, exposed=(), stable=release, canary=None)
    CanaryRollout("greeter", CanaryRolloutArgs(
        runtime=greeter, lifecycle_stage="beta", tenant_id="lab", namespace="team-sandbox", environment="dev",
        probe=SyntheticProbe(image="curlimages/curl:8.11.1", request=SyntheticRequest(), schedule="0 * * * *"),
        plan=plan, scale=Scale(hpa=True, min_replicas=1, max_replicas=3), canary_percentage=0.0,
        names=SharedNames(), nodes=AgentNodes(), ingress_class="nginx", rate_limits=RateLimits(rps=10, connections=5),
        synthetic_session=False,
        gates=GateWiring(SloGateCriteria(), PrometheusConnection(), ("500",), SharedNames()),
        ingress=AgentIngress(host="greeter.lab.example.org", paths=("/",), cluster_issuer="lab-issuer"),
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
    kinds = {(kind, namespace) for kind, namespace, _, _ in result["objects"]}
    assert ("Namespace", None) in kinds
    assert {("Deployment", "team-sandbox"), ("Service", "team-sandbox"), ("ResourceQuota", "team-sandbox")} <= kinds
    names = [name for kind, _, name, _ in result["objects"] if kind == "Namespace"]
    assert names == ["lab-ns"]
    workloads = sorted(name for kind, _, name, _ in result["objects"] if kind == "Deployment")
    assert workloads == ["echo-workload", "greeter-stable-workload"]
    hosts = [h for kind, _, _, found in result["objects"] if kind == "Ingress" for h in found]
    assert hosts == ["greeter.lab.example.org"], "the rollout's Ingress takes the host its caller gave"
