"""ReleaseLoop: the Pulumi Kubernetes Operator `Stack` that runs this stack's `up` again every resync interval.

Each run is one look for every automatic release (gates/rollout_state.py). It runs in the cluster, where
Prometheus answers on its Service DNS, as a workspace pod whose ServiceAccount carries the IRSA role.
The operator's rules this relies on (pulumi/pulumi-kubernetes-operator operator/api/pulumi/shared/stack_types.go):
without `continueResyncOnCommitMatch` a commit that already succeeded is not run again, so nothing would
look; `resyncFrequencySeconds` below 60 counts as 60; the workspace's ServiceAccount needs the
`system:auth-delegator` ClusterRole (docs/migration.md of the operator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.base.aws import IRSA_ANNOTATION
from components.base.kubernetes_object import KubernetesObject
from conventions.labels import MANAGED_BY, MANAGER, NAME
from settings.release_loop import ReleaseLoop as LoopSettings
from settings.release_loop import SecretKeyRef

OPERATOR_API = "pulumi.com/v1"


@dataclass(frozen=True)
class ReleaseLoopArgs:
    stack: str
    """The stack's own name (`prod`): the Stack object runs `<organization>/<stack>`."""
    loop: LoopSettings


def secret_env(ref: SecretKeyRef) -> dict[str, Any]:
    return {"type": "Secret", "secret": {"name": ref.name, "key": ref.key}}


def stack_spec(stack: str, loop: LoopSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "stack": f"{loop.organization}/{stack}",
        "resyncFrequencySeconds": loop.resync_seconds,
        "continueResyncOnCommitMatch": True,
        "serviceAccountName": loop.service_account,
        "refresh": False,
        "destroyOnFinalize": False,
        "envRefs": {},
    }
    if loop.project_repo is not None:
        spec |= {"projectRepo": loop.project_repo, "branch": loop.branch}
        if loop.repo_dir:
            spec["repoDir"] = loop.repo_dir
        if loop.git_auth_secret:
            spec["gitAuth"] = {"accessToken": secret_env(SecretKeyRef(name=loop.git_auth_secret, key="accessToken"))}
    elif loop.flux_source is not None:
        f = loop.flux_source
        spec["fluxSource"] = {"sourceRef": {"apiVersion": f.api_version, "kind": f.kind, "name": f.name}}
        if f.dir:
            spec["fluxSource"]["dir"] = f.dir
    if loop.backend:
        spec["backend"] = loop.backend
    if loop.passphrase_secret is not None:
        spec["envRefs"]["PULUMI_CONFIG_PASSPHRASE"] = secret_env(loop.passphrase_secret)
    if loop.access_token_secret is not None:
        spec["envRefs"]["PULUMI_ACCESS_TOKEN"] = secret_env(loop.access_token_secret)
    return spec


class ReleaseLoop(pulumi.ComponentResource):
    stack_object_name: pulumi.Output[str]

    def __init__(self, name: str, args: ReleaseLoopArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:ReleaseLoop", name, None, opts)
        loop = args.loop
        labels = {NAME: "agent-platform-release", MANAGED_BY: MANAGER}
        account = KubernetesObject(
            f"{name}-service-account",
            api_version="v1",
            kind="ServiceAccount",
            metadata={
                "name": loop.service_account,
                "namespace": loop.namespace,
                "labels": labels,
                "annotations": {IRSA_ANNOTATION: loop.role_arn},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        delegator = KubernetesObject(
            f"{name}-auth-delegator",
            api_version="rbac.authorization.k8s.io/v1",
            kind="ClusterRoleBinding",
            metadata={"name": f"{loop.namespace}:{loop.service_account}:system:auth-delegator", "labels": labels},
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
            subjects=[{"kind": "ServiceAccount", "name": loop.service_account, "namespace": loop.namespace}],
            opts=pulumi.ResourceOptions(parent=self),
        )
        stack = KubernetesObject(
            f"{name}-stack",
            api_version=OPERATOR_API,
            kind="Stack",
            metadata={"name": loop.stack_object_name(args.stack), "namespace": loop.namespace, "labels": labels},
            spec=stack_spec(args.stack, loop),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, delegator]),
        )
        self.stack_object_name = stack.metadata.apply(lambda m: m["name"])
        self.register_outputs({"stack_object_name": self.stack_object_name})
