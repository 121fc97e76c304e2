"""Pulumi's own mocks, recording every registration, for unit tests of components and providers.

    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack="prod", preview=False)

Each registration's inputs are kept under `<type>::<name>`; a resource's outputs are its inputs plus what
`outputs` adds, which a subclass overrides to answer as the real provider would (a gate's verdict, an ARN).
"""

from __future__ import annotations

from typing import Any

import pulumi


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}

    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        """What the resource's provider computes beyond its inputs; none by default."""
        return {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources[f"{args.typ}::{args.name}"] = args.inputs
        return f"{args.name}-id", {**args.inputs, **self.outputs(args)}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def of_type(self, type_token: str) -> dict[str, dict[str, Any]]:
        """Inputs of every registered resource of a type, by resource name."""
        return {k.split("::", 1)[1]: v for k, v in self.resources.items() if k.startswith(f"{type_token}::")}

    def last_of_each_type(self) -> dict[str, dict[str, Any]]:
        """Inputs of the last registered resource of each type, by type: for tests that register one of each."""
        return {key.split("::", 1)[0]: inputs for key, inputs in self.resources.items()}
