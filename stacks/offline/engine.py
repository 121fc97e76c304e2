"""The offline engine: the Pulumi SDK's mocks plus a monitor that records every registration.

The program runs exactly as under `pulumi up` (same `__main__.py`, same config keys); only the
resource monitor is replaced. In preview mode computed values stay unknown, as `pulumi preview` shows them.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as sdk_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from settings import stack_file
from stacks import gc_policy
from stacks.offline.computed import computed_outputs

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACK_REFERENCES = Path(__file__).with_name("stack_references.yaml")
SECRET_MASK = "[secret]"
UNKNOWN_MASK = "(known after apply)"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_INPUT = "__provider"


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    options: dict[str, Any]
    inputs: dict[str, Any]


@dataclass
class Recording:
    stack: str
    preview: bool
    resources: dict[str, Registration] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def mask(value: Any) -> Any:
    """Replace secrets, unknowns and resource references in a serialized property value."""
    if isinstance(value, dict):
        sig = value.get(rpc._special_sig_key)
        if sig == rpc._special_secret_sig:
            return SECRET_MASK
        if sig == rpc._special_resource_sig:
            return value.get("urn")
        if sig == rpc._special_output_value_sig:
            if value.get("secret"):
                return SECRET_MASK
            return mask(value["value"]) if "value" in value else UNKNOWN_MASK
        return {key: mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask(item) for item in value]
    if value == rpc.UNKNOWN:
        return UNKNOWN_MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Struct holds every number as a double
    return value


class OfflineMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str, preview: bool):
        self.region = region
        self.preview = preview
        self.references: dict[str, dict[str, Any]] = yaml.safe_load(STACK_REFERENCES.read_text()) or {}
        self.provider_regions: dict[str, str] = {}
        """Name of each explicit `aws` provider -> its region, so outputs of resources in other regions say so."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            ref = args.inputs["name"]
            if ref not in self.references:
                raise KeyError(f"no offline stand-in outputs for stack reference {ref!r} in {STACK_REFERENCES.name}")
            return ref, {**args.inputs, "outputs": self.references[ref]}
        if args.typ == "pulumi:providers:aws" and args.inputs.get("region"):
            self.provider_regions[args.name] = args.inputs["region"]
        provider_name = (args.provider or "").rsplit("::", 1)[0].rsplit("::", 1)[-1]
        region = self.provider_regions.get(provider_name, self.region)
        computed = computed_outputs(args.typ, args.name, args.inputs, region)
        if self.preview:
            computed = dict.fromkeys(computed, rpc.UNKNOWN)
            return "", {**args.inputs, **computed}
        return f"{args.name}-id", {**args.inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(sdk_mocks.MockMonitor):
    """Sees each registration as the engine would: options, parent, provider, and inputs before the mock."""

    def __init__(self, mocks: OfflineMocks, recording: Recording):
        super().__init__(mocks)
        self.recording = recording

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN (`resource.NewURN`): the parent's whole qualified type, joined by `$`, before the
        type, except for children of the root stack. The SDK's mock keeps only the parent's last type."""
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != ROOT_STACK_TYPE:
                type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == ROOT_STACK_TYPE:
            return response
        inputs = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
        inputs.pop(PROVIDER_INPUT, None)  # a pickled dynamic provider: code, not configuration
        timeouts = {k: v for k, v in json_format.MessageToDict(request.customTimeouts).items() if v}
        options = {
            "protect": request.protect,
            "retain_on_delete": request.retainOnDelete,
            "delete_before_replace": request.deleteBeforeReplace,
            "ignore_changes": sorted(request.ignoreChanges),
            "replace_on_changes": sorted(request.replaceOnChanges),
            "custom_timeouts": timeouts,
            "additional_secret_outputs": sorted(request.additionalSecretOutputs),
        }
        self.recording.resources[response.urn] = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent,
            provider=request.provider.rsplit("::", 1)[0] if request.provider else "",
            dependencies=sorted(set(request.dependencies)),
            options={k: v for k, v in options.items() if v},
            inputs=mask(inputs),
        )
        return response


def run(stack: str, preview: bool = False, root: Path = PROJECT_ROOT, stack_path: Path | None = None) -> Recording:
    """Run `__main__.py` for `stack` under mocks; raises whatever the program raises (e.g. SettingsError).
    `stack_path` replaces `Pulumi.<stack>.yaml` (a candidate change, checked before it is saved)."""
    stack_config = stack_file.read(stack, root, stack_path)
    config, secret_keys = stack_config.values, sorted(stack_config.secret_keys)
    region = config.get("aws:region", "us-east-1")
    recording = Recording(stack=stack, preview=preview)
    mocks = OfflineMocks(region, preview)
    pulumi.runtime.set_all_config(config, secret_keys)
    pulumi.runtime.set_mocks(
        mocks, project="agent-platform", stack=stack, preview=preview, monitor=RecordingMonitor(mocks, recording)
    )
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    try:
        _sync_await(pulumi.runtime.stack.run_pulumi_func(_main(root / "__main__.py")))
        root_stack = pulumi.runtime.settings.get_root_resource()
        recording.outputs = _sync_await(_resolve(root_stack.outputs))  # type: ignore[union-attr]
    finally:
        gc_policy.after_registration()  # the program turned the collector off; this process goes on
    return recording


def _main(path: Path) -> Callable[[], None]:
    """`__main__.py` run as a script (`__name__ == "__main__"`) with no Python frames of the engine between
    the SDK and the program: the SDK walks the whole call stack into a source trace at every registration."""
    code = compile(path.read_text(), str(path), "exec")
    namespace = {"__name__": "__main__", "__file__": str(path), "__builtins__": builtins, "__spec__": None}
    return functools.partial(exec, code, namespace)


async def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: await _resolve(item) for key, item in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [await _resolve(item) for item in value]
    if isinstance(value, pulumi.Output):
        if not await value.is_known():
            return UNKNOWN_MASK
        if await value.is_secret():
            return SECRET_MASK
        return await _resolve(await value.future())
    return value
