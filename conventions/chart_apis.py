"""Which custom API versions and kinds each pinned add-on chart version serves, read from its CRDs.

An object of a version the installed chart does not serve fails on `up` with "no matches for kind", which
no schema check sees. A render test checks every custom object of every stack against this table, and a
chart bump without an entry here fails that test until its CRDs are read and added.

Sources (`spec.versions[].served: true` of each CustomResourceDefinition at the chart's release tag):
- external-secrets 0.16.1: external-secrets/external-secrets `helm-chart-0.16.1`, deploy/crds/bundle.yaml, which
  hack/helm.generate.sh splits into the chart's templates/crds/ when packaging (v1 is the storage version since
  0.16.0, v1beta1 still served; 0.15.x served only v1alpha1 and v1beta1).
- kube-prometheus-stack 70.4.2: prometheus-community/helm-charts `kube-prometheus-stack-70.4.2`,
  charts/kube-prometheus-stack/charts/crds/crds/ (Prometheus Operator v0.81.0).
- velero 9.1.0: vmware-tanzu/helm-charts `velero-9.1.0`, charts/velero/crds/ (Velero 1.16.0).
- vpa 4.7.2: FairwindsOps/charts stable/vpa/crds/vpa-v1-crd.yaml at "Bump chart version to 4.7.2".
- cert-manager v1.17.1: cert-manager/cert-manager `v1.17.1`, deploy/crds/ (installed only with `crds.enabled`).
- argo-cd 7.8.23: argoproj/argo-helm `argo-cd-7.8.23`, charts/argo-cd/templates/crds/.
"""

from __future__ import annotations

ServedApis = dict[str, frozenset[str]]
"""`group/version` -> the kinds served at that version."""


def _served(*entries: tuple[str, tuple[str, ...], str]) -> ServedApis:
    table: dict[str, set[str]] = {}
    for group, versions, kind in entries:
        for version in versions:
            table.setdefault(f"{group}/{version}", set()).add(kind)
    return {api: frozenset(kinds) for api, kinds in table.items()}


_ESO = "external-secrets.io"
_ESO_GENERATORS = "generators.external-secrets.io"
_MONITORING = "monitoring.coreos.com"
_VELERO = "velero.io"

SERVED: dict[tuple[str, str], ServedApis] = {
    ("external-secrets", "0.16.1"): _served(
        *((_ESO, ("v1", "v1beta1"), k) for k in ("ExternalSecret", "SecretStore", "ClusterExternalSecret")),
        (_ESO, ("v1", "v1beta1"), "ClusterSecretStore"),
        *((_ESO, ("v1alpha1",), k) for k in ("PushSecret", "ClusterPushSecret")),
        *(
            (_ESO_GENERATORS, ("v1alpha1",), k)
            for k in (
                "ACRAccessToken",
                "ClusterGenerator",
                "ECRAuthorizationToken",
                "Fake",
                "GCRAccessToken",
                "GeneratorState",
                "GithubAccessToken",
                "Grafana",
                "Password",
                "QuayAccessToken",
                "STSSessionToken",
                "UUID",
                "VaultDynamicSecret",
                "Webhook",
            )
        ),
    ),
    ("kube-prometheus-stack", "70.4.2"): _served(
        *(
            (_MONITORING, ("v1",), k)
            for k in ("Alertmanager", "PodMonitor", "Probe", "Prometheus", "PrometheusRule", "ServiceMonitor")
        ),
        (_MONITORING, ("v1",), "ThanosRuler"),
        *((_MONITORING, ("v1alpha1",), k) for k in ("AlertmanagerConfig", "PrometheusAgent", "ScrapeConfig")),
    ),
    ("velero", "9.1.0"): _served(
        *(
            (_VELERO, ("v1",), k)
            for k in (
                "Backup",
                "BackupRepository",
                "BackupStorageLocation",
                "DeleteBackupRequest",
                "DownloadRequest",
                "PodVolumeBackup",
                "PodVolumeRestore",
                "Restore",
                "Schedule",
                "ServerStatusRequest",
                "VolumeSnapshotLocation",
            )
        ),
        *((_VELERO, ("v2alpha1",), k) for k in ("DataDownload", "DataUpload")),
    ),
    ("vpa", "4.7.2"): _served(
        *(
            ("autoscaling.k8s.io", ("v1", "v1beta2"), k)
            for k in ("VerticalPodAutoscaler", "VerticalPodAutoscalerCheckpoint")
        ),
    ),
    ("cert-manager", "v1.17.1"): _served(
        *(("cert-manager.io", ("v1",), k) for k in ("Certificate", "CertificateRequest", "ClusterIssuer", "Issuer")),
        *(("acme.cert-manager.io", ("v1",), k) for k in ("Challenge", "Order")),
    ),
    ("argo-cd", "7.8.23"): _served(
        *(("argoproj.io", ("v1alpha1",), k) for k in ("Application", "ApplicationSet", "AppProject")),
    ),
}


def groups(served: ServedApis) -> set[str]:
    return {api.partition("/")[0] for api in served}
