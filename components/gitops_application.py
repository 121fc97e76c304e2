"""GitOpsApplication: the Argo CD Application that applies the manifests Pulumi rendered for one environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.base.kubernetes_object import KubernetesObject

ARGO_API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class GitOpsApplicationArgs:
    environment: str
    repo_url: str
    path: str
    target_revision: str
    argocd_namespace: str
    crd_installers: Sequence[pulumi.Resource] = ()
    """The release installing Argo CD's CRDs, when this stack installs it; the Application waits for it."""


class GitOpsApplication(pulumi.ComponentResource):
    application_name: pulumi.Output[str]

    def __init__(self, name: str, args: GitOpsApplicationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:GitOpsApplication", name, None, opts)
        app_name = f"agent-platform-{args.environment}"
        app = KubernetesObject(
            f"{name}-application",
            api_version=ARGO_API_VERSION,
            kind="Application",
            metadata={"name": app_name, "namespace": args.argocd_namespace},
            spec={
                "project": "default",
                "source": {"repoURL": args.repo_url, "path": args.path, "targetRevision": args.target_revision},
                "destination": {"server": "https://kubernetes.default.svc"},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "syncOptions": ["CreateNamespace=true"],
                    "retry": {
                        "limit": 5,
                        "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.crd_installers)),
        )
        self.application_name = app.metadata.apply(lambda m: m["name"])
        self.register_outputs({"application_name": self.application_name})
