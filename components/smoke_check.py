"""SmokeCheck: the Job that must succeed before a blue-green switch sends users to green.

Green gets no user traffic before the switch, so no metrics gate can judge it there. The Job calls green's
health endpoints and sends one fixed request; the `up` waits for the Job, and the switch depends on it.
The Job's name carries green's version, so a new version runs a new check instead of reusing an old one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from components.base.kubernetes_object import KubernetesObject
from components.synthetic_session import PROBE_LABEL, SyntheticProbe, probe_pod_spec, request_env
from conventions.labels import AGENT_ID, MANAGED_BY, MANAGER, TENANT_ID

SMOKE_SCRIPT = """set -eu
curl -fsS --max-time 10 "$LIFECYCLE/health/live"
curl -fsS --max-time 10 "$LIFECYCLE/health/ready"
curl -fsS --max-time "$TIMEOUT" -H 'Content-Type: application/json' -H 'X-Synthetic-Session: true' \\
    -d "$BODY" "$TARGET" >/dev/null
"""


def version_slug(version: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", version.lower()).strip("-")


@dataclass(frozen=True)
class SmokeCheckArgs:
    agent_id: str
    lifecycle_port: int
    probe: SyntheticProbe
    tenant_id: str
    namespace: str
    version: str
    service_host: pulumi.Input[str]
    """Green's per-track Service, e.g. support-bot-canary.acme-prod.svc.cluster.local."""


class SmokeCheck(pulumi.ComponentResource):
    job_name: pulumi.Output[str]

    def __init__(self, name: str, args: SmokeCheckArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:SmokeCheck", name, None, opts)
        agent_id = args.agent_id
        request = args.probe.request
        labels = {PROBE_LABEL: agent_id, TENANT_ID: args.tenant_id, MANAGED_BY: MANAGER}
        env = pulumi.Output.from_input(args.service_host).apply(
            lambda host: {
                **request_env(request, f"http://{host}{request.path}"),
                "LIFECYCLE": f"http://{host}:{args.lifecycle_port}",
            }
        )
        job_name = f"{agent_id}-smoke-{version_slug(args.version)}"[:63].rstrip("-")
        job = KubernetesObject(
            f"{name}-job",
            api_version="batch/v1",
            kind="Job",
            metadata={"name": job_name, "namespace": args.namespace, "labels": {**labels, AGENT_ID: agent_id}},
            spec={
                "backoffLimit": 2,
                "activeDeadlineSeconds": 300,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": env.apply(lambda e: probe_pod_spec(args.probe.image, SMOKE_SCRIPT, e)),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=pulumi.CustomTimeouts(create="5m", update="5m")),
        )
        self.job_name = job.metadata.apply(lambda m: m["name"])
        self.register_outputs({"job_name": self.job_name})
