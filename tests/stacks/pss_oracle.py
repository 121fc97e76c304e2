"""Pod Security Standards `restricted` (which includes `baseline`), from the published profile.

https://kubernetes.io/docs/concepts/security/pod-security-standards/ — each check names the control it
implements; `violations` returns one line per failed control and container.
"""

from __future__ import annotations

from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def pod_specs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod template(s) of a workload object."""
    kind = obj.get("kind")
    if kind == "Pod":
        return [obj["spec"]]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return [obj["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def violations(pod: dict[str, Any]) -> list[str]:
    found: list[str] = []
    psc = pod.get("securityContext") or {}
    containers = [
        *pod.get("initContainers", []),
        *pod.get("containers", []),
        *pod.get("ephemeralContainers", []),
    ]
    # Baseline: host namespaces, host ports, hostPath, sysctls, AppArmor, SELinux, /proc.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            found.append(f"host namespaces: {field} is true")
    if psc.get("windowsOptions", {}).get("hostProcess"):
        found.append("HostProcess: pod windowsOptions.hostProcess")
    for volume in pod.get("volumes", []):
        kind = next((k for k in volume if k != "name"), None)
        if kind == "hostPath":
            found.append(f"hostPath volume {volume['name']}")
        if kind not in RESTRICTED_VOLUMES:
            found.append(f"volume types: {volume['name']} is {kind}")
    for sysctl in psc.get("sysctls", []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"sysctls: {sysctl.get('name')}")
    found += _selinux_apparmor("pod", psc)

    pod_non_root = psc.get("runAsNonRoot") is True
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp == "Unconfined":
        found.append("seccomp: pod profile is Unconfined")
    if psc.get("runAsUser") == 0:
        found.append("runAsUser: pod runs as UID 0")
    for c in containers:
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            found.append(f"privileged: container {name}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            found.append(f"HostProcess: container {name}")
        if any(p.get("hostPort") for p in c.get("ports", [])):
            found.append(f"host ports: container {name}")
        if sc.get("procMount") not in (None, "Default"):
            found.append(f"/proc mount: container {name}")
        found += _selinux_apparmor(f"container {name}", sc)
        caps = sc.get("capabilities") or {}
        added = set(caps.get("add") or [])
        if added - BASELINE_CAPABILITIES:
            found.append(f"capabilities (baseline): container {name} adds {sorted(added - BASELINE_CAPABILITIES)}")
        # Restricted.
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"privilege escalation: container {name} must set allowPrivilegeEscalation: false")
        non_root = sc.get("runAsNonRoot")
        if non_root is False or (non_root is None and not pod_non_root):
            found.append(f"running as non-root: container {name}")
        if sc.get("runAsUser") == 0:
            found.append(f"runAsUser: container {name} runs as UID 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp == "Unconfined" or (seccomp is None and pod_seccomp not in ("RuntimeDefault", "Localhost")):
            found.append(f"seccomp: container {name} needs RuntimeDefault or Localhost")
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"capabilities (restricted): container {name} must drop ALL")
        if added - {"NET_BIND_SERVICE"}:
            found.append(f"capabilities (restricted): container {name} may add only NET_BIND_SERVICE")
    return found


def _selinux_apparmor(where: str, sc: dict[str, Any]) -> list[str]:
    found = []
    selinux = sc.get("seLinuxOptions") or {}
    if selinux.get("type") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        found.append(f"SELinux: {where}")
    apparmor = (sc.get("appArmorProfile") or {}).get("type")
    if apparmor not in (None, "RuntimeDefault", "Localhost"):
        found.append(f"AppArmor: {where} profile {apparmor}")
    return found
