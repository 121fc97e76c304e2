"""TenantAlertRouting under Pulumi's mocks: the receivers' Secret holds every key the AlertmanagerConfig reads.

The Prometheus Operator resolves each receiver's `urlSecret` / `routingKey` (a SecretKeySelector) in the
AlertmanagerConfig's own namespace and rejects the whole AlertmanagerConfig when one cannot be read
(pkg/alertmanager/operator.go, checkAlertmanagerConfigResource): so the Secret has all keys, or is not ours.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from components.tenant_alert_routing import ReceiverRef, TenantAlertRouting, TenantAlertRoutingArgs
from testing.mocks import Recorder

SECRET = "alertmanager-receivers"


def unwrap(value: Any) -> tuple[Any, bool]:
    """(plain value, whether it was sent as a secret)."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value["value"], True
    return value, False


def build(values: dict[str, str | None]) -> Recorder:
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    refs = [
        ReceiverRef("support-oncall", "pagerduty", "support-oncall", values.get("support-oncall")),
        ReceiverRef("tickets", "webhook", "tickets-url", values.get("tickets")),
    ]
    names: list[str] = []

    def program() -> None:
        routing = TenantAlertRouting(
            "acme-alert-routing",
            TenantAlertRoutingArgs(
                namespace="acme-prod",
                tenant_id="acme",
                oncall={"support-bot": "support-oncall"},
                tickets={"P2": "tickets", "P3": "tickets"},
                receivers=refs,
                secret_name=SECRET,
                labels={"alertmanager": "kube-prometheus"},
            ),
        )
        routing.config_name.apply(names.append)

    pulumi.runtime.test(program)()
    assert names == ["agent-alerts"]
    return mocks


def referenced_keys(config: dict[str, Any]) -> set[tuple[str, str]]:
    refs = set()
    for receiver in config["spec"]["receivers"]:
        for pd in receiver.get("pagerdutyConfigs", []):
            refs.add((pd["routingKey"]["name"], pd["routingKey"]["key"]))
        for hook in receiver.get("webhookConfigs", []):
            refs.add((hook["urlSecret"]["name"], hook["urlSecret"]["key"]))
    return refs


def test_with_every_value_the_secret_holds_every_referenced_key() -> None:
    mocks = build({"support-oncall": "0123456789abcdef0123456789abcdef", "tickets": "https://tickets.example/hook"})
    config = mocks.last_of_each_type()["kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"]
    secret = mocks.last_of_each_type()["kubernetes:core/v1:Secret"]
    assert secret["metadata"] == {"name": SECRET, "namespace": "acme-prod", "labels": {"tenant-id": "acme"}}
    data, is_secret = unwrap(secret["stringData"])
    assert is_secret, "the receivers' values must reach the engine as secrets"
    assert referenced_keys(config) == {(SECRET, key) for key in data}
    assert unwrap(data["tickets-url"])[0] == "https://tickets.example/hook"


@pytest.mark.parametrize("values", [{}, {"tickets": "https://tickets.example/hook"}])
def test_without_every_value_the_secret_is_left_to_the_operator(values: dict[str, str | None]) -> None:
    mocks = build(values)
    assert "kubernetes:core/v1:Secret" not in mocks.last_of_each_type()
    assert "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig" in mocks.last_of_each_type()
