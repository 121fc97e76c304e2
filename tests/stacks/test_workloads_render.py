"""The three rendered stacks: workload manifests, HPA ownership, Pod Security, exposure and the staging rollouts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planning.feature_flags import cohort_bucket, in_canary_cohort
from settings.canary import max_exposed
from tests.conftest import STACKS, load_manifests, load_resources
from tests.manifest_schemas import validate_objects
from tests.stacks.conftest import stack_settings
from tests.stacks.pss_oracle import pod_specs, violations

WORKLOAD_KINDS = {"Deployment", "StatefulSet"}
IMMUTABLE_OR_SPLITTING = {"version", "track", "lifecycle-state"}
Rendered = Callable[[str], Path]


def manifests_of(rendered: Rendered, stack: str) -> dict[Path, dict[str, Any]]:
    return load_manifests(rendered(stack))


def outputs(rendered: Rendered, stack: str) -> dict[str, Any]:
    return json.loads((rendered(stack) / "outputs.json").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_template_passes_pod_security_restricted(rendered: Rendered, stack: str) -> None:
    pods = {str(p): spec for p, m in manifests_of(rendered, stack).items() for spec in pod_specs(m)}
    assert any("deployment-" in p for p in pods) and (stack == "dev" or any("cronjob-" in p for p in pods))
    failures = {path: found for path, spec in pods.items() if (found := violations(spec))}
    assert failures == {}


def test_the_pod_security_checker_fails_a_pod_that_breaks_restricted() -> None:
    pod = {
        "hostNetwork": True,
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
        "containers": [{"name": "bad", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}],
    }
    found = " | ".join(violations(pod))
    for control in ("host namespaces", "hostPath", "privilege escalation", "non-root", "seccomp", "drop ALL"):
        assert control in found


@pytest.mark.parametrize("stack", STACKS)
def test_workload_manifests_pass_strict_schema_validation(rendered: Rendered, stack: str) -> None:
    objects = [m for m in manifests_of(rendered, stack).values() if m["metadata"].get("labels", {}).get("agent-id")]
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap"} <= kinds
    assert validate_objects(objects) == {}


@pytest.mark.parametrize("stack", STACKS)
def test_hpa_scaled_workloads_never_set_replicas(rendered: Rendered, stack: str) -> None:
    resources = load_resources(rendered(stack))
    workloads = {
        (r["inputs"]["metadata"]["namespace"], r["inputs"]["metadata"]["name"]): r
        for r in resources
        if r["type"] in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
    }
    hpas = [r for r in resources if r["type"] == "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"]
    assert hpas
    for hpa in hpas:
        target = workloads[(hpa["inputs"]["metadata"]["namespace"], hpa["inputs"]["spec"]["scaleTargetRef"]["name"])]
        covered = "spec.replicas" in (target["options"].get("ignore_changes") or [])
        assert "replicas" not in target["inputs"]["spec"] or covered, target["urn"]


@pytest.mark.parametrize("stack", STACKS)
def test_selectors_never_name_version_track_or_lifecycle_state(rendered: Rendered, stack: str) -> None:
    for path, m in manifests_of(rendered, stack).items():
        if m["kind"] in WORKLOAD_KINDS | {"PodDisruptionBudget"}:
            selector = m["spec"]["selector"]["matchLabels"]
        elif m["kind"] == "Service" and m["metadata"].get("labels", {}).get("agent-id"):
            selector = m["spec"].get("selector") or {}
        else:
            continue
        assert not IMMUTABLE_OR_SPLITTING & selector.keys(), path


@pytest.mark.parametrize("stack", STACKS)
def test_agent_pods_have_lifecycle_probes_and_a_grace_period_beyond_shutdown(rendered: Rendered, stack: str) -> None:
    settings = {a.id: a for a in stack_settings(stack).agents}
    for path, m in manifests_of(rendered, stack).items():
        if m["kind"] not in WORKLOAD_KINDS or "agent-id" not in m["metadata"].get("labels", {}):
            continue  # the tenants' Pushgateways are no agents
        agent = settings[m["metadata"]["labels"]["agent-id"]]
        pod = m["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["HIVE_LIFECYCLE_ENABLED"] == "true" and env["HIVE_LIFECYCLE_PORT"] == str(agent.lifecycle_port)
        for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[kind]["httpGet"]["port"] == "lifecycle", path
        startup = container["startupProbe"]
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 300
        shutdown = int(env["HIVE_GRACEFUL_SHUTDOWN_TIMEOUT"]) + container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] > shutdown
        secrets = [e for e in container["env"] if "valueFrom" in e]
        assert {e["valueFrom"]["secretKeyRef"]["name"] for e in secrets} == {"agent-secrets"}


@pytest.mark.parametrize("stack", STACKS)
def test_the_lifecycle_port_is_reachable_only_from_inside_the_namespace(rendered: Rendered, stack: str) -> None:
    settings = stack_settings(stack)
    lifecycle_ports = {a.lifecycle_port for a in settings.agents}
    for path, m in manifests_of(rendered, stack).items():
        if m["kind"] == "NetworkPolicy":
            for rule in m["spec"].get("ingress", []):
                ports = {p["port"] for p in rule.get("ports", [])}
                from_outside = any("namespaceSelector" in peer or "ipBlock" in peer for peer in rule.get("from", []))
                assert not (from_outside and ports & lifecycle_ports), path
        if m["kind"] == "Ingress":
            for rule in m["spec"]["rules"]:
                for p in rule["http"]["paths"]:
                    assert not p["path"].startswith(("/api/v1/lifecycle", "/api/v1/status")), path
                    assert p["path"] not in ("/", "/api", "/api/v1"), path


def test_staging_runs_one_agent_mid_canary_and_one_blue_green(rendered: Rendered) -> None:
    agents = outputs(rendered, "staging")["agents"]
    canary = agents["support-bot"]
    assert (canary["strategy"], canary["stage"], canary["stage_weight"]) == ("canary", 1, 25)
    manifests = manifests_of(rendered, "staging")
    for tenant in canary["tenants_exposed"]:
        ingress = manifests[Path(f"{tenant}-staging") / "ingress-support-bot-canary.yaml"]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "25"
        assert canary["tenants"][tenant]["weight"] == 25 and canary["tenants"][tenant]["gate_verdict"] == "pass"
    blue_green = agents["research-assistant"]
    assert blue_green["strategy"] == "blue_green" and blue_green["tenants_exposed"]
    for tenant in blue_green["tenants_exposed"]:
        namespace = Path(f"{tenant}-staging")
        client = manifests[namespace / "service-research-assistant.yaml"]
        assert client["spec"]["selector"]["app.kubernetes.io/instance"] == "research-assistant-canary"
        assert (namespace / "job-research-assistant-smoke-2-2-0.yaml") in manifests


@pytest.mark.parametrize("stack", STACKS)
def test_canary_exposure_starts_with_the_cohort_and_is_capped_in_prod(rendered: Rendered, stack: str) -> None:
    settings = stack_settings(stack)
    agents = outputs(rendered, stack)["agents"]
    for agent in settings.agents:
        exposed = agents[agent.id]["tenants_exposed"]
        if agent.rollout.canary is None:
            assert exposed == []
            continue
        cohort = [t for t in agent.tenants if in_canary_cohort(t, settings.feature_flags.canary_percentage)]
        lowest = min(agent.tenants, key=lambda t: (cohort_bucket(t), t))
        assert set(exposed) <= set(cohort or [lowest]) and exposed
        if stack == "prod":
            assert len(exposed) <= max_exposed(len(agent.tenants), settings.canary.max_tenant_exposure_pct)
        running = {
            m["metadata"]["namespace"].removesuffix(f"-{stack}")
            for m in manifests_of(rendered, stack).values()
            if m["kind"] in WORKLOAD_KINDS and m["metadata"]["name"] == f"{agent.id}-canary"
        }
        assert running == set(exposed)


@pytest.mark.parametrize("stack", STACKS)
def test_synthetic_sessions_run_in_staging_and_prod_only(rendered: Rendered, stack: str) -> None:
    settings = stack_settings(stack)
    crons = [m for m in manifests_of(rendered, stack).values() if m["kind"] == "CronJob"]
    expected = 0 if stack == "dev" else sum(len(a.tenants) for a in settings.agents)
    assert len(crons) == expected
    for cron in crons:
        pod = cron["spec"]["jobTemplate"]["spec"]["template"]
        assert "agent-id" not in pod["metadata"]["labels"], "no agent Service may select a probe pod"
        env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
        assert env["METRIC"] == settings.names.synthetic_session_metric


@pytest.mark.parametrize("stack", STACKS)
def test_every_agent_pod_mounts_its_tenants_feature_flags(rendered: Rendered, stack: str) -> None:
    """A volume naming a ConfigMap that is absent from the namespace keeps the pod in ContainerCreating, and
    one naming nothing leaves the flags unread: each agent pod mounts the flags ConfigMap of its own namespace
    and is told where the file is."""
    manifests = manifests_of(rendered, stack)
    flags = {
        (m["metadata"]["namespace"], m["metadata"]["name"]): m["data"]
        for m in manifests.values()
        if m["kind"] == "ConfigMap" and "flags.json" in m.get("data", {})
    }
    workloads = [m for m in manifests.values() if m["kind"] in WORKLOAD_KINDS and "agent-id" in m["metadata"]["labels"]]
    assert workloads and flags
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        (container,) = [c for c in pod["containers"] if c["name"] == "agent"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        by_mount = {m["name"]: volumes.get(m["name"], {}) for m in container["volumeMounts"]}
        mounted = [v for v in by_mount.values() if "configMap" in v]
        names = {v["configMap"]["name"] for v in mounted}
        ns = workload["metadata"]["namespace"]
        (flags_name,) = [n for n in names if (ns, n) in flags]
        mount = next(
            m for m in container["volumeMounts"] if by_mount[m["name"]].get("configMap", {}).get("name") == flags_name
        )
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert mount["readOnly"] and env["AGENT_FEATURE_FLAGS_FILE"] == f"{mount['mountPath']}/flags.json"
        assert "subPath" not in mount  # a subPath mount never sees an updated ConfigMap
