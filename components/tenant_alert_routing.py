"""TenantAlertRouting: the AlertmanagerConfig of one tenant namespace.

P1 pages the on-call receiver of the agent that raised it; P2 and P3 go to ticket receivers. Receivers
read their webhook URL or PagerDuty key from a Secret in the namespace. Given every receiver's value (from
`pulumi config set --secret`), this component creates that Secret; otherwise an operator does. The
Prometheus Operator rejects an AlertmanagerConfig whose referenced Secret key it cannot read, so it is all
of a namespace's receivers or none. The operator scopes every route to the namespace it lives in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from components.base.kubernetes_object import KubernetesObject
from conventions.labels import TENANT_ID
from gates.release_notify import ALERT_NAME as RELEASE_ALERT

ALERTMANAGER_CONFIG_API = "monitoring.coreos.com/v1alpha1"
ReceiverType = Literal["webhook", "pagerduty"]
# A stronger alert silences its weaker twin on the same object.
INHIBITIONS: list[tuple[str, str, list[str]]] = [
    ("AgentMemoryExhaustion", "AgentMemoryPressure", ["namespace", "pod", "container"]),
    ("AgentCpuThrottlingSevere", "AgentCpuThrottling", ["namespace", "pod", "container"]),
    ("AgentLatencyCritical", "AgentLatencyOverSlo", ["namespace", "agent_id", "quantile"]),
    ("AgentCanaryRollback", "AgentCanaryErrorRateAboveStable", ["namespace", "agent_id", "version"]),
]


@dataclass(frozen=True)
class ReceiverRef:
    name: str
    type: ReceiverType
    secret_key: str
    value: str | None = None
    """The URL or routing key, when the stack holds it as a secret."""


@dataclass(frozen=True)
class TenantAlertRoutingArgs:
    namespace: str
    tenant_id: str
    oncall: dict[str, str]
    """agent id -> receiver that pages for it."""
    tickets: dict[str, str]
    """severity (P2, P3) -> receiver."""
    receivers: list[ReceiverRef]
    secret_name: str
    labels: dict[str, str]
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing the Prometheus Operator's CRDs, when this stack installs it."""


def _eq(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value, "matchType": "="}


def _receiver(ref: ReceiverRef, secret: str) -> dict[str, Any]:
    key = {"name": secret, "key": ref.secret_key}
    if ref.type == "pagerduty":
        return {"name": ref.name, "pagerdutyConfigs": [{"routingKey": key, "sendResolved": True}]}
    return {"name": ref.name, "webhookConfigs": [{"urlSecret": key, "sendResolved": True}]}


def routing_spec(args: TenantAlertRoutingArgs) -> dict[str, Any]:
    # Events of automatic releases (gates/release_notify.py): every one goes to the agent's on-call receiver.
    releases = [
        {
            "receiver": receiver,
            "matchers": [_eq("alertname", RELEASE_ALERT), _eq("agent_id", agent_id)],
            "groupBy": ["alertname", "agent_id", "tenant_id", "event_at"],
            "groupWait": "0s",
            "repeatInterval": "24h",
        }
        for agent_id, receiver in sorted(args.oncall.items())
    ]
    pages = [
        {
            "receiver": receiver,
            "matchers": [_eq("severity", "P1"), _eq("agent_id", agent_id)],
            "repeatInterval": "1h",
        }
        for agent_id, receiver in sorted(args.oncall.items())
    ]
    tickets = [
        {"receiver": receiver, "matchers": [_eq("severity", severity)], "repeatInterval": "12h"}
        for severity, receiver in sorted(args.tickets.items())
    ]
    return {
        "route": {
            "receiver": args.tickets["P2"],
            "groupBy": ["alertname", "agent_id", "tenant_id"],
            "groupWait": "30s",
            "groupInterval": "5m",
            "repeatInterval": "12h",
            "routes": releases + pages + tickets,
        },
        "receivers": [_receiver(r, args.secret_name) for r in sorted(args.receivers, key=lambda r: r.name)],
        "inhibitRules": [
            {"sourceMatch": [_eq("alertname", source)], "targetMatch": [_eq("alertname", target)], "equal": equal}
            for source, target, equal in INHIBITIONS
        ],
    }


class TenantAlertRouting(pulumi.ComponentResource):
    config_name: pulumi.Output[str]

    def __init__(self, name: str, args: TenantAlertRoutingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:TenantAlertRouting", name, None, opts)
        depends: list[pulumi.Resource] = list(args.crd_installers)
        self.secret: KubernetesObject | None = None
        if args.receivers and all(r.value is not None for r in args.receivers):
            self.secret = KubernetesObject(
                f"{name}-receivers",
                api_version="v1",
                kind="Secret",
                metadata={
                    "name": args.secret_name,
                    "namespace": args.namespace,
                    "labels": {TENANT_ID: args.tenant_id},
                },
                type="Opaque",
                stringData={r.secret_key: pulumi.Output.secret(r.value) for r in args.receivers},
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stringData", "data"]),
            )
            depends.append(self.secret)
        self.config = KubernetesObject(
            f"{name}-alertmanagerconfig",
            api_version=ALERTMANAGER_CONFIG_API,
            kind="AlertmanagerConfig",
            metadata={
                "name": "agent-alerts",
                "namespace": args.namespace,
                "labels": {TENANT_ID: args.tenant_id, **args.labels},
            },
            spec=routing_spec(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
        self.config_name = self.config.metadata.apply(lambda m: m["name"])
        self.register_outputs({"config_name": self.config_name})
