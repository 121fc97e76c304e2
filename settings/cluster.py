"""How the program reaches the cluster and what the cluster must already run."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from settings.base import SecretField, Settings
from settings.formats import (
    EksClusterName,
    HttpsUrl,
    Namespace,
    NonEmpty,
    ObjectName,
    OidcIssuer,
    OidcProviderArn,
    PrivateCidr,
    SecurityGroupId,
    StackReference,
    SubnetId,
    VpcId,
    matching,
)


class Taint(Settings):
    key: str = "workload-type"
    value: str = "agents"
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] = "NoSchedule"


class AgentNodes(Settings):
    """The node group agents run on; workloads select it and tolerate its taint."""

    selector: dict[str, str] = Field(default_factory=lambda: {"workload-type": "agents"})
    taint: Taint | None = Taint()


class Addon(Settings):
    chart: str
    repository: str
    version: Annotated[str, matching(r"v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", "a chart version like 4.12.1")]
    namespace: Namespace
    values: dict[str, object] = Field(default_factory=dict)
    crd_groups: list[Annotated[str, matching(r"[a-z0-9-]+(\.[a-z0-9-]+)+", "an API group like velero.io")]] = Field(
        default_factory=list,
        description="API groups whose CustomResourceDefinitions the chart installs; the platform's objects of "
        "those groups wait for this release.",
    )


# Values that make the add-ons serve what the platform's objects expect: kube-state-metrics exports the
# pod labels the alerts group by and prometheus-adapter serves the per-pod custom metrics the HPAs scale on.
# Prometheus keeps the chart's own selectors (`release: <release name>`), so it scrapes the chart's kubelet,
# kube-state-metrics and node-exporter monitors as well as ours, which carry that label
# (`observability.prometheus_selector`, checked by `settings/checks/observability.py`).
_KUBE_PROMETHEUS_VALUES: dict[str, object] = {
    "kube-state-metrics": {"metricLabelsAllowlist": ["pods=[tenant-id,agent-id,track,version]"]},
    "alertmanager": {
        "alertmanagerSpec": {
            "alertmanagerConfigSelector": {"matchLabels": {"alertmanager": "kube-prometheus"}},
            "alertmanagerConfigNamespaceSelector": {},
        }
    },
    "grafana": {
        "sidecar": {
            "dashboards": {
                "enabled": True,
                "label": "grafana_dashboard",
                "searchNamespace": "ALL",
                "folderAnnotation": "grafana_folder",
                "provider": {"foldersFromFilesStructure": True},
            }
        }
    },
}
_ADAPTER_VALUES: dict[str, object] = {
    "prometheus": {"url": "http://kube-prometheus-stack-prometheus.monitoring.svc", "port": 9090},
    "rules": {
        "default": False,
        "custom": [
            {
                "seriesQuery": 'agent_requests_total{namespace!="",pod!=""}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                "name": {"as": "http_requests_per_second"},
                "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
            },
            {
                "seriesQuery": 'agent_queue_depth{namespace!="",pod!=""}',
                "resources": {"overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}},
                "name": {"as": "queue_depth"},
                "metricsQuery": "max(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
            },
        ],
    },
}

# The program creates Velero's storage and snapshot locations itself (per data residency), so the chart
# must not; the node agent does file-system backups for volumes whose snapshots cannot leave the region.
_VELERO_VALUES: dict[str, object] = {
    "deployNodeAgent": True,
    "configuration": {"backupStorageLocation": [], "volumeSnapshotLocation": []},
    "serviceAccount": {"server": {"create": True, "name": "velero-server"}},
    "initContainers": [
        {
            "name": "velero-plugin-for-aws",
            "image": "velero/velero-plugin-for-aws:v1.12.0",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}],
        }
    ],
}


def _default_addons() -> dict[str, Addon]:
    def addon(
        chart: str,
        repository: str,
        version: str,
        namespace: str,
        values: dict[str, object] | None = None,
        crd_groups: tuple[str, ...] = (),
    ) -> Addon:
        return Addon(
            chart=chart,
            repository=repository,
            version=version,
            namespace=namespace,
            values=values or {},
            crd_groups=list(crd_groups),
        )

    return {
        "ingress-nginx": addon(
            "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "4.12.1", "ingress-nginx"
        ),
        "kube-prometheus-stack": addon(
            "kube-prometheus-stack",
            "https://prometheus-community.github.io/helm-charts",
            "70.4.2",
            "monitoring",
            _KUBE_PROMETHEUS_VALUES,
            ("monitoring.coreos.com",),
        ),
        "prometheus-adapter": addon(
            "prometheus-adapter",
            "https://prometheus-community.github.io/helm-charts",
            "4.14.1",
            "monitoring",
            _ADAPTER_VALUES,
        ),
        "prometheus-pushgateway": addon(
            "prometheus-pushgateway", "https://prometheus-community.github.io/helm-charts", "3.0.0", "monitoring"
        ),
        "metrics-server": addon(
            "metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.12.2", "kube-system"
        ),
        "vpa": addon("vpa", "https://charts.fairwinds.com/stable", "4.7.2", "vpa", crd_groups=("autoscaling.k8s.io",)),
        "velero": addon(
            "velero",
            "https://vmware-tanzu.github.io/helm-charts",
            "9.1.0",
            "velero",
            _VELERO_VALUES,
            ("velero.io",),
        ),
        "external-secrets": addon(
            "external-secrets",
            "https://charts.external-secrets.io",
            "0.16.1",
            "external-secrets",
            crd_groups=("external-secrets.io", "generators.external-secrets.io"),
        ),
        # The chart installs its CRDs only with `crds.enabled` (default false); `crds.keep` (default true)
        # keeps them, and every certificate, if the release is ever removed.
        "cert-manager": addon(
            "cert-manager",
            "https://charts.jetstack.io",
            "v1.17.1",
            "cert-manager",
            {"crds": {"enabled": True, "keep": True}},
            ("cert-manager.io", "acme.cert-manager.io"),
        ),
        "aws-ebs-csi-driver": addon(
            "aws-ebs-csi-driver", "https://kubernetes-sigs.github.io/aws-ebs-csi-driver", "2.41.0", "kube-system"
        ),
        "argo-cd": addon(
            "argo-cd", "https://argoproj.github.io/argo-helm", "7.8.23", "argocd", crd_groups=("argoproj.io",)
        ),
    }


class AcmeIssuer(Settings):
    """An ACME ClusterIssuer that solves HTTP-01 challenges through the cluster's ingress class."""

    server: HttpsUrl = "https://acme-v02.api.letsencrypt.org/directory"
    email: str | None = Field(None, description="ACME account contact; Let's Encrypt sends expiry notices to it.")


class Cluster(Settings):
    """Connection and network facts of the EKS cluster.

    Each network value is either given here or read from the cluster stack named in `stack_reference`
    (output names are the field names), so a cluster team can own them.
    """

    name: EksClusterName
    stack_reference: StackReference | None = Field(None, description="`org/project/stack` of the cluster stack.")
    kubeconfig: str | None = SecretField(
        description="Kubeconfig; secret. Omit to use the cluster stack's `kubeconfig` output or the ambient context."
    )
    context: NonEmpty | None = None
    kubernetes_version: Annotated[str, matching(r"1\.\d+", "a Kubernetes minor version like 1.31")] = "1.31"
    vpc_id: VpcId | None = None
    private_subnet_ids: list[SubnetId] | None = None
    data_subnet_cidrs: list[PrivateCidr] = Field(
        min_length=1, description="CIDRs of the private data subnets RDS and ElastiCache live in."
    )
    vpc_cidr: PrivateCidr = Field("10.0.0.0/16", description="Excluded from the LLM-provider egress rule.")
    aws_api_cidrs: list[PrivateCidr] = Field(
        default_factory=list,
        description="Subnets of interface VPC endpoints (STS, Secrets Manager) pods reach on 443, if used.",
    )
    node_security_group_id: SecurityGroupId | None = None
    oidc_provider_arn: OidcProviderArn | None = None
    oidc_issuer: OidcIssuer | None = Field(None, description="OIDC issuer host and path, without https://.")
    ingress_namespace: Namespace = "ingress-nginx"
    ingress_class: ObjectName = "nginx"
    monitoring_namespace: Namespace = "monitoring"
    install_addons: bool = False
    addons: dict[str, Addon] = Field(default_factory=_default_addons)
    cluster_issuers: dict[str, AcmeIssuer] = Field(
        default_factory=lambda: {"letsencrypt-prod": AcmeIssuer()},
        description="ClusterIssuers created with the add-ons (`install_addons`); without them the cluster must "
        "already have every issuer an ingress names.",
    )
    agent_nodes: AgentNodes = AgentNodes()


class GitOps(Settings):
    """With `render_yaml_to` set, Argo CD applies the Kubernetes objects and Pulumi only writes them."""

    render_yaml_to: str | None = None
    repo_url: str | None = None
    target_revision: NonEmpty = "main"
    argocd_namespace: Namespace = "argocd"
