"""What the kubelet gives a pod's containers: the API token and the user and group they run as.

- Token: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting
  "If both the ServiceAccount and the Pod's .spec specify a value for automountServiceAccountToken, the Pod
  spec takes precedence"; unset on both, the token is mounted.
- IDs: https://kubernetes.io/docs/tasks/configure-pod-container/security-context/ — a container's
  securityContext overrides the pod's; without `runAsUser` the image's USER applies, and "If [runAsGroup] is
  omitted, the primary group ID of the containers will be root(0)".
- High UID: checkov CKV_K8S_40 ("Containers should run as a high UID to avoid host conflict") passes a
  runAsUser of 10000 or more.
"""

from __future__ import annotations

from typing import Any

HIGH_UID = 10000


def api_token_mounted(pod: dict[str, Any], service_accounts: dict[str, dict[str, Any]]) -> bool:
    """Whether the pod gets the Kubernetes API token of its ServiceAccount (by name in its namespace)."""
    if pod.get("automountServiceAccountToken") is not None:
        return bool(pod["automountServiceAccountToken"])
    account = service_accounts.get(pod.get("serviceAccountName") or "default", {})
    return account.get("automountServiceAccountToken") is not False


def identity_problems(pod: dict[str, Any]) -> list[str]:
    """One line per container that runs as the image's user, a low UID, or the root group."""
    found = []
    psc = pod.get("securityContext") or {}
    for c in [*pod.get("initContainers", []), *pod.get("containers", [])]:
        sc = c.get("securityContext") or {}
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        gid = sc.get("runAsGroup", psc.get("runAsGroup"))
        if uid is None:
            found.append(f"{c['name']}: no runAsUser, runs as the image's USER")
        elif uid < HIGH_UID:
            found.append(f"{c['name']}: runAsUser {uid} is below {HIGH_UID}")
        if gid is None or gid == 0:
            found.append(f"{c['name']}: primary group is root (runAsGroup {gid})")
    return found
