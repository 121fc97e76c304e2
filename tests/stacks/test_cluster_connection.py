"""The kubeconfig read from the cluster stack reaches the Kubernetes provider as a secret.

A StackReference output is secret only when the cluster stack marked it so; unwrapped, a plain kubeconfig
(its certificate data or token) is stored in clear in this stack's state as the provider's input
(https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences: outputs keep the secretness they had).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi.runtime import rpc

from stacks.cluster_connection import connect
from testing.mocks import Recorder
from tests.stacks.conftest import stack_settings

KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: not-a-real-token\n"


class ClusterStack(Recorder):
    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        if args.typ != "pulumi:pulumi:StackReference":
            return {}
        names = ("vpc_id", "private_subnet_ids", "node_security_group_id", "oidc_provider_arn", "oidc_issuer")
        return {"outputs": {"kubeconfig": KUBECONFIG, **{n: f"{n}-value" for n in names}}, "secretOutputNames": []}


def _provider_kubeconfig() -> Any:
    mocks = ClusterStack()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)
    cluster = stack_settings("prod").cluster
    assert cluster.stack_reference and cluster.kubeconfig is None and cluster.context is None

    def program() -> None:
        connection = connect("prod", cluster)
        k8s.Provider("k8s", kubeconfig=connection.kubeconfig)

    pulumi.runtime.test(program)()
    return mocks.of_type("pulumi:providers:kubernetes")["k8s"]["kubeconfig"]


def test_the_referenced_kubeconfig_reaches_the_provider_as_a_secret() -> None:
    value = _provider_kubeconfig()
    assert isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig, value
    assert value["value"] == KUBECONFIG
