"""Refuses a settings change that would delete, replace or strand data, unless the stack file acknowledges it.

The decision is `refusals(old, new, settings)`: the previous deployment and the planned one (resources and
outputs), and the settings whose `data.migrations` entries acknowledge a change. Reading the previous
deployment (the last render in `build/<stack>/`, or a `pulumi stack export` file) is `load_previous`.

A resource holds data when deleting or replacing it loses what is in it: databases, caches, buckets, KMS keys
(everything encrypted with them), backup vaults, Secrets Manager secrets (values operators put there),
persistent volumes and tenant namespaces. It is replaced when an input the provider cannot update in place
changes (its identifier or name) or when it moves to another region's provider. A tenant's data is stranded
when its DATABASE_URL or REDIS_URL points at another instance afterwards (the new one is empty).
See docs/data-changes.md for the procedures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pulumi
from pulumi.runtime import mocks as sdk_mocks

from conventions.labels import TENANT_ID
from settings import StackSettings
from settings.errors import Problem

# Type token -> inputs whose change replaces the resource (besides moving region).
HOLDS_DATA: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": ("identifier",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId",),
    # Object Lock set on the bucket itself is fixed at creation: turning it on replaces the bucket.
    "aws:s3/bucket:Bucket": ("bucket", "objectLockEnabled"),
    "aws:kms/key:Key": (),
    "aws:backup/vault:Vault": ("name",),
    "aws:secretsmanager/secret:Secret": ("name",),
    "kubernetes:core/v1:PersistentVolumeClaim": ("metadata.namespace", "metadata.name"),
    "kubernetes:apps/v1:StatefulSet": ("metadata.namespace", "metadata.name"),
    "kubernetes:core/v1:Namespace": ("metadata.name",),
}
WHAT = {
    "aws:rds/instance:Instance": "PostgreSQL instance",
    "aws:elasticache/replicationGroup:ReplicationGroup": "Redis cache",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:kms/key:Key": "KMS key",
    "aws:backup/vault:Vault": "backup vault",
    "aws:secretsmanager/secret:Secret": "Secrets Manager secret",
    "kubernetes:core/v1:PersistentVolumeClaim": "persistent volume",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet's persistent volumes",
    "kubernetes:core/v1:Namespace": "namespace",
}
AWS_PROVIDER = "pulumi:providers:aws"
STACK_TYPE = "pulumi:pulumi:Stack"
TENANT_LABEL = TENANT_ID
PREVIOUS_STATE_ENV = "AGENT_PLATFORM_PREVIOUS_STATE"


@dataclass(frozen=True)
class Deployment:
    """Resources by URN (type, inputs, provider reference) and the stack outputs."""

    resources: Mapping[str, Mapping[str, Any]]
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    kind: str  # "deletes", "replaces", "repoints"
    resource: str  # the name an acknowledgement gives
    what: str
    tenant: str | None
    detail: str


def _get(record: Mapping[str, Any], dotted: str) -> Any:
    value: Any = record.get("inputs") or {}
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _region(deployment: Deployment, record: Mapping[str, Any]) -> str | None:
    """The region of the explicit AWS provider a resource uses (a render names the provider by URN, a state
    export by `URN::id`)."""
    reference = str(record.get("provider") or "")
    provider = deployment.resources.get(reference) or deployment.resources.get(reference.rsplit("::", 1)[0])
    if provider is None or provider.get("type") != AWS_PROVIDER:
        return None
    return _get(provider, "region")


def _tenant(record: Mapping[str, Any]) -> str | None:
    tags = _get(record, "tags") or {}
    labels = _get(record, "metadata.labels") or {}
    found = tags.get(TENANT_LABEL) if isinstance(tags, dict) else None
    return found or (labels.get(TENANT_LABEL) if isinstance(labels, dict) else None)


def data_changes(old: Deployment, new: Deployment) -> list[Change]:
    changes = []
    for urn, before in sorted(old.resources.items()):
        type_ = before.get("type", "")
        if type_ not in HOLDS_DATA:
            continue
        name, what = _name(urn), WHAT[type_]
        after = new.resources.get(urn)
        if after is None:
            changes.append(Change("deletes", name, what, _tenant(before), "is no longer in the stack"))
            continue
        moved = [(k, _get(before, k), _get(after, k)) for k in HOLDS_DATA[type_] if _get(before, k) != _get(after, k)]
        old_region, new_region = _region(old, before), _region(new, after)
        if old_region and new_region and old_region != new_region:
            moved.append(("region", old_region, new_region))
        if moved:
            detail = ", ".join(f"{k} {a!r} -> {b!r}" for k, a, b in moved)
            changes.append(Change("replaces", name, what, _tenant(before) or _tenant(after), detail))
    changes += _repointed(old, new)
    return changes


ENDPOINT_ROLES = ("master", "replica", "clustercfg")
"""Leading labels of ElastiCache endpoints (`master.<group>.<hash>...cache.amazonaws.com`)."""


def _host(url: Any) -> str | None:
    """The instance a data URL points at: the RDS instance identifier or the ElastiCache replication group, the
    first label of its endpoint after the endpoint's role. Not the whole host: AWS puts a per-account hash in it
    (`<identifier>.<hash>.<region>.rds.amazonaws.com`) that the offline render can only make up, so a real
    state export and a render of the same instance differ there."""
    if not isinstance(url, str) or "://" not in url:
        return None  # unknown in a preview, or a secret in a state export: nothing to compare
    labels = (urlparse(url).hostname or "").split(".")
    while len(labels) > 1 and labels[0] in ENDPOINT_ROLES:
        labels = labels[1:]
    return labels[0] or None


def _repointed(old: Deployment, new: Deployment) -> list[Change]:
    before = ((old.outputs.get("data") or {}).get("tenants")) or {}
    after = ((new.outputs.get("data") or {}).get("tenants")) or {}
    changes = []
    for tenant_id, old_data in sorted(before.items()):
        new_data = after.get(tenant_id)
        if not isinstance(new_data, dict) or not isinstance(old_data, dict):
            continue
        for key, variable, what in (
            ("database_url", "DATABASE_URL", "PostgreSQL database"),
            ("redis_url", "REDIS_URL", "Redis data"),
        ):
            was, now = _host(old_data.get(key)), _host(new_data.get(key))
            if was and now and was != now:
                changes.append(
                    Change(
                        "repoints",
                        f"{tenant_id}-data",
                        f"tenant's {what}",
                        tenant_id,
                        f"{variable} would point at {now} instead of {was}, an empty one",
                    )
                )
    return changes


def _cause(old: Deployment, settings: StackSettings, tenant_id: str | None) -> tuple[str, str]:
    """(setting path, what changed) that explains a change, from the previous outputs and the new settings."""
    old_env = old.outputs.get("environment")
    if old_env and old_env != settings.environment:
        return "environment", f"{old_env!r} -> {settings.environment!r}"
    old_tenants = old.outputs.get("tenants") or {}
    if tenant_id is not None:
        index = next((i for i, t in enumerate(settings.tenants) if t.id == tenant_id), None)
        if index is None:
            return "tenants", f"tenant {tenant_id!r} removed"
        tenant, before = settings.tenants[index], old_tenants.get(tenant_id) or {}
        for field_name in ("tier", "data_residency"):
            if before.get(field_name) not in (None, getattr(tenant, field_name)):
                return (
                    f"tenants[{index}].{field_name}",
                    f"{before[field_name]!r} -> {getattr(tenant, field_name)!r} for tenant {tenant_id!r}",
                )
    changed = [
        f"tenants[{i}].{f}"
        for i, t in enumerate(settings.tenants)
        for f in ("tier", "data_residency")
        if (old_tenants.get(t.id) or {}).get(f) not in (None, getattr(t, f))
    ]
    removed = sorted(set(old_tenants) - {t.id for t in settings.tenants})
    if changed or removed:
        what = ", ".join(changed + [f"tenant {r!r} removed" for r in removed])
        return (changed[0] if changed else "tenants"), what
    return "data", "the data settings changed"


def refusals(old: Deployment, new: Deployment, settings: StackSettings) -> list[Problem]:
    acknowledged = {m.resource for m in settings.data.migrations}
    problems = []
    for change in data_changes(old, new):
        if change.resource in acknowledged:
            continue
        path, what = _cause(old, settings, change.tenant)
        problems.append(
            Problem(
                path,
                f"{what} {change.kind} the {change.what} {change.resource!r} ({change.detail}), which holds data; "
                "move the data first (docs/data-changes.md), then acknowledge it in the stack file: "
                f"data.migrations: [{{resource: {change.resource}, plan: <how the data moves>}}]",
            )
        )
    return problems


# --- I/O at the edge ----------------------------------------------------------------------------------


def from_render(folder: Path) -> Deployment:
    resources = {r["urn"]: r for r in json.loads((folder / "resources.json").read_text())}
    outputs_file = folder / "outputs.json"
    outputs = json.loads(outputs_file.read_text()) if outputs_file.is_file() else {}
    return Deployment(resources, outputs)


def from_state_export(path: Path) -> Deployment:
    """A `pulumi stack export` file: the checkpoint's resources and the root stack's outputs."""
    document = json.loads(path.read_text())
    resources = (document.get("deployment") or {}).get("resources") or []
    by_urn = {r["urn"]: r for r in resources}
    stack: dict[str, Any] = next((r for r in resources if r.get("type") == STACK_TYPE), {})
    return Deployment(by_urn, stack.get("outputs") or {})


def load_previous(path: Path | None) -> Deployment | None:
    """A render folder or a state export file; None when there is no previous deployment to compare with."""
    if path is None:
        return None
    if path.is_dir():
        return from_render(path) if (path / "resources.json").is_file() else None
    return from_state_export(path) if path.is_file() else None


def export_command(cli: str, stack: str, target: Path) -> list[str]:
    """`pulumi stack export` of the running stack (`organization/project/stack`, which every backend accepts),
    into `target`. Secrets stay encrypted: the guard compares identifiers, names, regions and URL hosts."""
    return [cli, "stack", "export", "--stack", stack, "--file", str(target)]


def running_cli(pid: int | None = None, proc: Path = Path("/proc")) -> str | None:
    """The `pulumi` executable running this program (its language host's parent), found through /proc; else
    the one on PATH. The export must come from the same CLI, so the same backend and login."""
    pid = os.getppid() if pid is None else pid
    for _ in range(4):
        try:
            exe = os.readlink(proc / str(pid) / "exe")
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:
            break
        if Path(exe).name == "pulumi":
            return exe
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the field after the command name is the state, then ppid
        if pid <= 1:
            break
    return shutil.which("pulumi")


def export_own_state(stack: str, project_root: Path, target: Path, cli: str | None = None) -> Path:
    """The stack's previous deployment, read from its backend by the Pulumi CLI the `up` runs with. Reading a
    checkpoint takes no lock (the DIY backend's ExportDeployment reads it; pulumi pkg/backend/diy/backend.go),
    so it works while the running `up` holds the stack. RunError, one line, when it cannot be read: the guard
    fails closed rather than let `up` go ahead unguarded."""
    cli = cli or running_cli()
    fix = (
        f"export it yourself and set {PREVIOUS_STATE_ENV}=prev.json "
        f"(pulumi stack export --stack {stack} --file prev.json)"
    )
    if cli is None:
        raise pulumi.RunError(f"data guard: no `pulumi` CLI found to read the previous deployment of {stack}; {fix}")
    result = subprocess.run(
        export_command(cli, stack, target), cwd=project_root, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or not target.is_file():
        reason = " ".join(result.stderr.split())[:300] or f"exit {result.returncode}"
        raise pulumi.RunError(f"data guard: could not read the previous deployment of {stack} ({reason}); {fix}")
    return target


def guard_up(stack: str, qualified: str, project_root: Path, previous: str | None, cli: str | None = None) -> None:
    """Render the stack file offline (the same code as the render command) against the previous deployment:
    `previous` (a `pulumi stack export` file) if given, else the stack's own state read through the CLI, and
    stop with the refusals before anything registers."""
    with tempfile.TemporaryDirectory() as scratch:
        state = (
            Path(previous) if previous else export_own_state(qualified, project_root, Path(scratch) / "prev.json", cli)
        )
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "stacks.render",
                stack,
                "--out",
                str(Path(scratch) / "out"),
                "--previous",
                str(state),
            ],
            cwd=project_root,
            capture_output=True,
            text=True,
            check=False,
        )
    # Policy violations alone (exit 1 on stdout) are CrossGuard's to report under `up`.
    if result.returncode != 0 and result.stderr.strip():
        raise pulumi.RunError(result.stderr.strip())


def before_up(stack: str, project_root: Path) -> None:
    """Under `pulumi up` or `preview`: the data guard against the stack's previous deployment, by default its
    own state (or the export $AGENT_PLATFORM_PREVIOUS_STATE names). The offline render itself runs under mocks
    and guards in-process instead (stacks/render.py)."""
    if isinstance(pulumi.runtime.settings.SETTINGS.monitor, sdk_mocks.MockMonitor):
        return
    organization = pulumi.get_organization()
    qualified = f"{organization}/{pulumi.get_project()}/{stack}" if organization else stack
    guard_up(stack, qualified, project_root, os.environ.get(PREVIOUS_STATE_ENV) or None)
