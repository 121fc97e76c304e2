"""The Kubernetes Pod Security Standards, `restricted` profile (which includes `baseline`), as pure checks
on a pod spec. Follows https://kubernetes.io/docs/concepts/security/pod-security-standards/ (v1.33); each
finding names the control so a reader can look it up there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.resources import container_ref, containers, get, is_unknown, items

RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
RESTRICTED_VOLUME_SOURCES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def violations(template: Mapping[str, Any]) -> list[str]:
    """Every `restricted` control the pod template ({metadata, spec}) breaks, one line each."""
    spec = get(template, "spec", default={})
    annotations = get(template, "metadata", "annotations", default={})
    return [
        *_host_namespaces(spec),
        *_host_path_and_volume_types(spec),
        *_sysctls(spec),
        *_apparmor_annotations(annotations),
        *_pod_security_context(spec),
        *(problem for field, c in containers(spec) for problem in _container(field, c, spec)),
    ]


def _host_namespaces(spec: Mapping[str, Any]) -> Iterator[str]:
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if get(spec, field) is True:
            yield f"Host Namespaces: spec.{field} must be unset or false"
    if get(spec, "securityContext", "windowsOptions", "hostProcess") is True:
        yield "HostProcess: spec.securityContext.windowsOptions.hostProcess must be unset or false"


def _host_path_and_volume_types(spec: Mapping[str, Any]) -> Iterator[str]:
    for volume in items(get(spec, "volumes")):
        if not isinstance(volume, Mapping):
            continue
        sources = [key for key in volume if key != "name"]
        for source in sources:
            if source == "hostPath":
                yield f"HostPath Volumes: volume '{volume.get('name')}' uses hostPath"
            elif source not in RESTRICTED_VOLUME_SOURCES:
                allowed = ", ".join(sorted(RESTRICTED_VOLUME_SOURCES))
                yield f"Volume Types: volume '{volume.get('name')}' uses {source}; allowed: {allowed}"


def _sysctls(spec: Mapping[str, Any]) -> Iterator[str]:
    for sysctl in items(get(spec, "securityContext", "sysctls")):
        name = get(sysctl, "name")
        if isinstance(name, str) and not is_unknown(name) and name not in SAFE_SYSCTLS:
            yield f"Sysctls: '{name}' is not in the safe set"


def _apparmor_annotations(annotations: Mapping[str, Any]) -> Iterator[str]:
    for key in annotations:
        value = get(annotations, key)
        allowed = value == "runtime/default" or str(value).startswith("localhost/")
        if key.startswith(APPARMOR_ANNOTATION) and not allowed:
            yield f"AppArmor: annotation {key}={value!r} must be runtime/default or localhost/*"


def _selinux(where: str, options: Any) -> Iterator[str]:
    if not isinstance(options, Mapping):
        return
    if get(options, "type", default="") not in SELINUX_TYPES:
        yield f"SELinux: {where}.seLinuxOptions.type {get(options, 'type')!r} is not an allowed container type"
    for field in ("user", "role"):
        if get(options, field):
            yield f"SELinux: {where}.seLinuxOptions.{field} must be unset"


def _profile(control: str, where: str, profile: Any, allowed: frozenset[str]) -> Iterator[str]:
    kind = get(profile, "type")
    if kind is not None and not is_unknown(kind) and kind not in allowed:
        yield f"{control}: {where}.{control.lower()}Profile.type {kind!r} must be one of {', '.join(sorted(allowed))}"


def _pod_security_context(spec: Mapping[str, Any]) -> Iterator[str]:
    context = get(spec, "securityContext", default={})
    yield from _selinux("spec.securityContext", get(context, "seLinuxOptions"))
    yield from _profile("Seccomp", "spec.securityContext", get(context, "seccompProfile"), SECCOMP_TYPES)
    yield from _profile("AppArmor", "spec.securityContext", get(context, "appArmorProfile"), APPARMOR_TYPES)
    if get(context, "runAsNonRoot") is False:
        yield "Running as Non-root: spec.securityContext.runAsNonRoot must not be false"
    if get(context, "runAsUser") == 0:
        yield "Running as Non-root user: spec.securityContext.runAsUser must not be 0"


def _container(field: str, container: Mapping[str, Any], spec: Mapping[str, Any]) -> Iterator[str]:
    who = container_ref(field, container)
    context = get(container, "securityContext", default={})
    pod_context = get(spec, "securityContext", default={})
    if get(context, "privileged") is True:
        yield f"Privileged Containers: {who} sets securityContext.privileged"
    if get(context, "windowsOptions", "hostProcess") is True:
        yield f"HostProcess: {who} sets securityContext.windowsOptions.hostProcess"
    for port in items(get(container, "ports")):
        host_port = get(port, "hostPort", default=0)
        if not is_unknown(host_port) and host_port != 0:
            yield f"Host Ports: {who} uses hostPort {host_port}"
    if get(context, "procMount", default="Default") != "Default":
        yield f"/proc Mount Type: {who} sets procMount {get(context, 'procMount')!r}; only Default is allowed"
    yield from _selinux(f"{who} securityContext", get(context, "seLinuxOptions"))
    yield from _profile("AppArmor", f"{who} securityContext", get(context, "appArmorProfile"), APPARMOR_TYPES)
    yield from _profile("Seccomp", f"{who} securityContext", get(context, "seccompProfile"), SECCOMP_TYPES)
    if get(context, "seccompProfile", "type") is None and get(pod_context, "seccompProfile", "type") is None:
        yield f"Seccomp: {who} has no seccompProfile (set RuntimeDefault on the pod or the container)"
    if get(context, "allowPrivilegeEscalation") is not False:
        yield f"Privilege Escalation: {who} must set securityContext.allowPrivilegeEscalation: false"
    non_root = get(context, "runAsNonRoot")
    if non_root is False:
        yield f"Running as Non-root: {who} sets runAsNonRoot: false"
    elif non_root is None and get(pod_context, "runAsNonRoot") is not True:
        yield f"Running as Non-root: {who} must run with runAsNonRoot: true (pod or container securityContext)"
    if get(context, "runAsUser") == 0:
        yield f"Running as Non-root user: {who} sets runAsUser: 0"
    capabilities = get(context, "capabilities", default={})
    dropped = {str(c) for c in items(get(capabilities, "drop"))}
    if "ALL" not in dropped:
        yield f"Capabilities: {who} must drop ALL capabilities"
    added = {str(c) for c in items(get(capabilities, "add"))} - RESTRICTED_ADD_CAPABILITIES
    if added:
        yield f"Capabilities: {who} adds {', '.join(sorted(added))}; only NET_BIND_SERVICE may be added"
