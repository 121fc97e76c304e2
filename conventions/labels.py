"""Kubernetes label keys the components set and the policy pack, the render and the data guard read.

A key written as a literal in two places is two facts that can drift: every layer takes them from here.
"""

APP = "app"
"""The agent id (or the job's purpose) on the objects and pods of one app: what the Services select by."""
AGENT_ID = "agent-id"
TENANT_ID = "tenant-id"
ENVIRONMENT = "environment"
SLA_TIER = "sla-tier"
DATA_RESIDENCY = "data-residency"
TRACK = "track"
VERSION = "version"
LIFECYCLE_STATE = "lifecycle-state"
"""Where a track stands in the agent lifecycle (`canary` for the canary track, the agent's stage for stable)."""
NAME = "app.kubernetes.io/name"
INSTANCE = "app.kubernetes.io/instance"
"""`<agent>-<track>` on an agent's pods: the one label that tells the tracks' pods apart."""
COMPONENT = "app.kubernetes.io/component"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "pulumi"
"""The value of MANAGED_BY on every object this program owns."""
POD_SECURITY = "pod-security.kubernetes.io"
"""Prefix of the Pod Security admission labels: `<prefix>/<mode>` and `<prefix>/<mode>-version`."""
POD_SECURITY_MODES = ("enforce", "audit", "warn")


def pod_security_labels(level: str, kubernetes_version: str) -> dict[str, str]:
    """Pod Security labels for every mode, each pinned to the cluster's minor version (`1.31` -> `v1.31`).

    Unpinned, `enforce-version` defaults to `latest`: a control-plane upgrade would change what admission
    refuses before anyone reviewed it (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
    """
    version = f"v{kubernetes_version}"
    labels = {}
    for mode in POD_SECURITY_MODES:
        labels[f"{POD_SECURITY}/{mode}"] = level
        labels[f"{POD_SECURITY}/{mode}-version"] = version
    return labels
