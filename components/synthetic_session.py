"""SyntheticSession: the hourly "continuous canary session" of one agent in one tenant namespace.

A CronJob sends the agent a fixed request through its client Service and pushes the outcome to the
tenant's own Pushgateway (`TenantPushgateway`) as the synthetic-session gauge, which the alerts and the
staging checks read. It also
owns the egress NetworkPolicy its pods (and the blue-green smoke check's) need under the tenant's
default deny. Probe pods never carry the agent's `app`/`agent-id` labels, so no Service selects them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.base.kubernetes_object import KubernetesObject
from components.tenant_pushgateway import LABELS as PUSHGATEWAY_LABELS
from components.tenant_pushgateway import PORT as PUSHGATEWAY_PORT
from components.tenant_pushgateway import pushgateway_url
from conventions.identifiers import synthetic_session_cronjob
from conventions.labels import AGENT_ID, MANAGED_BY, MANAGER, TENANT_ID
from conventions.pods import SUPPORT_CONTAINER_RESOURCES
from conventions.ports import HTTP_PORT
from settings.agents import SyntheticRequest
from settings.names import SharedNames

PROBE_LABEL = "agent-platform/probe-of"
PROBE_UID = 10001

SESSION_SCRIPT = """set -u
if curl -fsS --max-time "$TIMEOUT" -H 'Content-Type: application/json' -H 'X-Synthetic-Session: true' \\
    -d "$BODY" "$TARGET" >/dev/null; then ok=1; else ok=0; fi
printf '# TYPE %s gauge\\n%s %s\\n' "$METRIC" "$METRIC" "$ok" | curl -fsS --max-time 30 --data-binary @- \\
    "$PUSHGATEWAY/metrics/job/synthetic-session/$AGENT_LABEL/$AGENT_ID/$TENANT_LABEL/$TENANT_ID"
test "$ok" = 1
"""


def probe_pod_spec(image: str, script: str, env: dict[str, str]) -> dict[str, Any]:
    """A one-shot curl pod that passes Pod Security `restricted`."""
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": PROBE_UID,
            "runAsGroup": PROBE_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "probe",
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["/bin/sh", "-c", script],
                "env": [{"name": k, "value": v} for k, v in env.items()],
                "resources": {
                    "requests": dict(SUPPORT_CONTAINER_RESOURCES),
                    "limits": dict(SUPPORT_CONTAINER_RESOURCES),
                },
                "securityContext": {
                    "runAsNonRoot": True,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "privileged": False,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            }
        ],
    }


def request_env(request: SyntheticRequest, target: str) -> dict[str, str]:
    return {"TARGET": target, "BODY": request.body, "TIMEOUT": str(request.timeout_seconds)}


@dataclass(frozen=True)
class SyntheticProbe:
    """What a probe pod of an agent runs: the image with curl, the fixed request, and the session's schedule."""

    image: str
    request: SyntheticRequest
    schedule: str
    """Cron schedule of the synthetic session."""


@dataclass(frozen=True)
class SyntheticSessionArgs:
    agent_id: str
    lifecycle_port: int
    """The agent's lifecycle port: the smoke check's health calls go there, so the egress policy allows it."""
    probe: SyntheticProbe
    tenant_id: str
    namespace: str
    service_url: pulumi.Input[str]
    """The agent's client Service, e.g. http://support-bot.acme-prod.svc.cluster.local."""
    names: SharedNames
    schedule_session: bool


class SyntheticSession(pulumi.ComponentResource):
    cron_job_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: SyntheticSessionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:SyntheticSession", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        agent_id = args.agent_id
        settings = args.probe
        labels = {PROBE_LABEL: agent_id, TENANT_ID: args.tenant_id, MANAGED_BY: MANAGER}
        # The objects name their agent; their pods do not, so no agent Service or selector picks them up.
        owned = {**labels, AGENT_ID: agent_id}

        KubernetesObject(
            f"{name}-egress",
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata={"name": f"{agent_id}-probes-egress", "namespace": args.namespace, "labels": owned},
            spec={
                "podSelector": {"matchLabels": {PROBE_LABEL: agent_id}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": {AGENT_ID: agent_id}}}],
                        "ports": [
                            {"protocol": "TCP", "port": HTTP_PORT},
                            {"protocol": "TCP", "port": args.lifecycle_port},
                        ],
                    },
                    {
                        "to": [{"podSelector": {"matchLabels": PUSHGATEWAY_LABELS}}],
                        "ports": [{"protocol": "TCP", "port": PUSHGATEWAY_PORT}],
                    },
                ],
            },
            opts=child,
        )

        self.cron_job_name = None
        if args.schedule_session:
            target = pulumi.Output.from_input(args.service_url).apply(lambda url: url + settings.request.path)
            env = target.apply(
                lambda url: {
                    **request_env(settings.request, url),
                    "PUSHGATEWAY": pushgateway_url(args.namespace),
                    "METRIC": args.names.synthetic_session_metric,
                    "AGENT_LABEL": args.names.metric_labels.agent_id,
                    "AGENT_ID": agent_id,
                    "TENANT_LABEL": args.names.metric_labels.tenant_id,
                    "TENANT_ID": args.tenant_id,
                }
            )
            deadline = settings.request.timeout_seconds + 120
            cron = KubernetesObject(
                f"{name}-cron",
                api_version="batch/v1",
                kind="CronJob",
                metadata={"name": synthetic_session_cronjob(agent_id), "namespace": args.namespace, "labels": owned},
                spec={
                    "schedule": settings.schedule,
                    "concurrencyPolicy": "Forbid",
                    "startingDeadlineSeconds": 600,
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 3,
                    "jobTemplate": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "backoffLimit": 0,
                            "activeDeadlineSeconds": deadline,
                            "template": {
                                "metadata": {"labels": labels},
                                "spec": env.apply(lambda e: probe_pod_spec(settings.image, SESSION_SCRIPT, e)),
                            },
                        },
                    },
                },
                opts=child,
            )
            self.cron_job_name = cron.metadata.apply(lambda m: m["name"])
        self.register_outputs({"cron_job_name": self.cron_job_name})
