"""Offline render: what `pulumi up` would create for a stack, written to `build/<stack>/`.

    python -m stacks.render dev [--preview] [--out build] [--diff build/dev-old]

Runs `__main__.py` through the Pulumi SDK's mock engine with the stack's config from its YAML
file. Needs no network, no Pulumi CLI and no credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from conventions.labels import TENANT_ID
from gates.ga_gate import GA_GATE_TYPE
from policy.offline import check as policy_check
from policy.offline import format as policy_format
from settings import SettingsError, settings_from_config, stack_file
from stacks import data_guard
from stacks.diff import diff_resources, format_diff
from stacks.offline.computed import computed_outputs
from stacks.offline.engine import PROJECT_ROOT, Recording, Registration, run
from stacks.onboarding import onboarding, tenants_of

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SHARED = "(shared)"


def resource_record(reg: Registration) -> dict[str, Any]:
    return {
        "urn": reg.urn,
        "type": reg.type,
        "name": reg.name,
        "custom": reg.custom,
        "parent": reg.parent,
        "provider": reg.provider,
        "dependencies": reg.dependencies,
        "options": reg.options,
        "inputs": reg.inputs,
    }


def is_manifest(reg: Registration) -> bool:
    return reg.custom and reg.type.startswith("kubernetes:") and reg.type != HELM_RELEASE


def manifest_path(obj: dict[str, Any]) -> Path:
    metadata = obj.get("metadata", {})
    folder = metadata.get("namespace") or "_cluster"
    return Path(folder) / f"{obj['kind'].lower()}-{metadata['name']}.yaml"


def tenant_of(reg: Registration) -> str:
    inputs = reg.inputs
    labels = (inputs.get("metadata") or {}).get("labels") or {}
    return labels.get(TENANT_ID) or (inputs.get("tags") or {}).get(TENANT_ID) or SHARED


# libyaml's emitter is several times faster and writes the same YAML.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=True, default_flow_style=False, width=120)


def write_render(recording: Recording, target: Path) -> None:
    resources = [resource_record(r) for _, r in sorted(recording.resources.items())]
    (target / "resources.json").write_text(json.dumps(resources, indent=2, sort_keys=True) + "\n")
    (target / "outputs.json").write_text(json.dumps(recording.outputs, indent=2, sort_keys=True) + "\n")
    for reg in recording.resources.values():
        if not is_manifest(reg):
            continue
        path = target / "manifests" / manifest_path(reg.inputs)
        if path.exists():
            raise RuntimeError(f"two Kubernetes objects render to {path.relative_to(target)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(reg.inputs))
        if reg.type == PROMETHEUS_RULE:
            rules = (
                target / "prometheus" / f"{reg.inputs['metadata']['namespace']}-{reg.inputs['metadata']['name']}.yaml"
            )
            rules.parent.mkdir(parents=True, exist_ok=True)
            rules.write_text(dump_yaml({"groups": reg.inputs["spec"]["groups"]}))


def summary(recording: Recording, outputs_file: Path | None = None) -> str:
    """Counts by type and tenant, then the outputs: as YAML, or only where they are when the report that
    matters is what follows (`--diff`)."""
    custom = [r for r in recording.resources.values() if r.custom]
    components = len(recording.resources) - len(custom)
    by_type = Counter(r.type for r in custom)
    by_tenant = Counter(tenant_of(r) for r in custom)
    lines = [
        f"Stack {recording.stack}{' (preview)' if recording.preview else ''}: "
        f"{len(custom)} resources in {components} components",
        "",
        "Resources by type:",
        *(f"  {count:5d}  {type_}" for type_, count in sorted(by_type.items())),
        "",
        "Resources by tenant:",
        *(f"  {count:5d}  {tenant}" for tenant, count in sorted(by_tenant.items())),
        "",
        *(
            [f"Outputs: {outputs_file}"]
            if outputs_file is not None
            else ["Outputs:", *(f"  {line}" for line in dump_yaml(recording.outputs).splitlines())]
        ),
    ]
    return "\n".join(lines)


def render(
    stack: str,
    out: Path,
    preview: bool = False,
    root: Path = PROJECT_ROOT,
    stack_path: Path | None = None,
    previous: Path | None = None,
) -> Recording:
    """Render into a scratch folder and move it into place only when everything succeeded and no data would
    be lost against the previous deployment (`previous`: a render folder or a state export; default: the
    last render in `out/<stack>`)."""
    recording = run(stack, preview=preview, root=root, stack_path=stack_path)
    guard_data(recording, previous if previous is not None else out / stack, root, stack_path)
    return write(recording, out)


def guard_data(recording: Recording, previous: Path, root: Path, stack_path: Path | None) -> None:
    """SettingsError when the render would delete, replace or strand data the previous deployment holds."""
    old = data_guard.load_previous(previous)
    if old is None:
        return
    config = stack_file.read(recording.stack, root, stack_path)
    settings = settings_from_config(recording.stack, config.values, config.secret_keys)
    new = data_guard.Deployment(
        {urn: resource_record(reg) for urn, reg in recording.resources.items()}, recording.outputs
    )
    problems = data_guard.refusals(old, new, settings)
    if problems:
        raise SettingsError(recording.stack, problems)


def write(recording: Recording, out: Path) -> Recording:
    stack = recording.stack
    out.mkdir(parents=True, exist_ok=True)
    target = out / stack
    scratch = Path(tempfile.mkdtemp(prefix=f".{stack}-", dir=out))
    try:
        write_render(recording, scratch)
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return recording


def ga_gates_failing(recording: Recording) -> list[str]:
    """Reports of the GA readiness gates that fail on the stack settings alone, as the render computed them."""
    reports = []
    for reg in recording.resources.values():
        if reg.type == GA_GATE_TYPE:
            outputs = computed_outputs(reg.type, reg.name, reg.inputs, "")
            if outputs["verdict"] == "fail":
                reports.append(outputs["report"])
    return reports


def load_resources(folder: Path) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in json.loads((folder / "resources.json").read_text())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.render", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name: dev, staging or prod")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build", help="output folder (default: build)")
    parser.add_argument("--preview", action="store_true", help="leave computed values unknown, as pulumi preview")
    parser.add_argument("--diff", type=Path, metavar="OLD", help="print changes against an earlier render folder")
    parser.add_argument(
        "--onboarding",
        action="store_true",
        help="print the steps outside the program for tenants new since OLD (every tenant without --diff)",
    )
    parser.add_argument(
        "--stack-file", type=Path, metavar="FILE", help="render this file instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument(
        "--previous",
        type=Path,
        metavar="PATH",
        default=os.environ.get(data_guard.PREVIOUS_STATE_ENV) or None,
        help="the deployment to guard data against: a render folder or a `pulumi stack export` file "
        f"(default: ${data_guard.PREVIOUS_STATE_ENV}, else the last render in OUT/<stack>)",
    )
    args = parser.parse_args(argv)
    stack_path = args.stack_file or PROJECT_ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_path.exists():
        print(f"error: no stack file {stack_path.name}", file=sys.stderr)
        return 2
    # Read the earlier render before this one is written: `--diff build/<stack>` names the folder the
    # render is about to replace, and comparing the new render with itself would always say "No changes."
    old = None
    if args.diff:
        if not (args.diff / "resources.json").is_file():
            print(f"error: --diff {args.diff}: no earlier render there (resources.json missing)", file=sys.stderr)
            return 2
        old = load_resources(args.diff)
    known_tenants = set(tenants_of(args.diff)) if old is not None else set()
    try:
        recording = render(
            args.stack, args.out, preview=args.preview, stack_path=args.stack_file, previous=args.previous
        )
    except SettingsError as error:
        print("\n".join(error.lines), file=sys.stderr)
        return 1
    print(summary(recording, args.out / args.stack / "outputs.json" if old is not None else None))
    print(f"\nWrote {args.out / args.stack}")
    # The policy pack's own rule functions, so a developer sees violations without the Pulumi CLI.
    violations = policy_check(args.out / args.stack)
    print("\n" + policy_format(violations))
    if old is not None:
        print("\nChanges against", args.diff)
        print(format_diff(diff_resources(old, load_resources(args.out / args.stack))))
    if args.onboarding:
        print("\n" + onboarding(args.out / args.stack, known_tenants))
    failing_gates = ga_gates_failing(recording)
    if failing_gates:
        print("\n".join(["", *failing_gates, "The `up` of this stack would fail at these gates."]), file=sys.stderr)
    return 1 if failing_gates or any(v.mandatory for v in violations) else 0


def exit_now(code: int) -> None:
    """Exit without interpreter teardown: the SDK's mock monitor leaves an event loop on each executor
    thread, and their finalizers print spurious tracebacks once file descriptors are closed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
