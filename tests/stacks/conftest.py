"""Helpers for the data-services tests: the rendered stacks read back by type, region and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from settings import StackSettings, stack_file
from stacks.offline.engine import STACK_REFERENCES
from tests.conftest import load_manifests, load_resources

AWS_PROVIDER = "pulumi:providers:aws"


@cache
def stack_settings(stack: str) -> StackSettings:
    return stack_file.load(stack)


def cluster_value(stack: str, name: str) -> Any:
    """A cluster fact as the program sees it: from the stack file, else from the cluster stack's outputs."""
    s = stack_settings(stack)
    explicit = getattr(s.cluster, name)
    if explicit is not None:
        return explicit
    return yaml.safe_load(STACK_REFERENCES.read_text())[s.cluster.stack_reference][name]


@dataclass
class Rendered:
    stack: str
    folder: Path
    resources: list[dict[str, Any]]
    manifests: dict[Path, dict[str, Any]]

    @property
    def settings(self) -> StackSettings:
        return stack_settings(self.stack)

    def of_type(self, type_token: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == type_token]

    def region(self, resource: dict[str, Any]) -> str:
        """Region of the explicit provider the resource is registered with."""
        providers = {r["urn"]: r["inputs"]["region"] for r in self.resources if r["type"] == AWS_PROVIDER}
        return providers[resource["provider"]]

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests.values() if m["kind"] == kind]


@pytest.fixture(scope="session")
def data_render(rendered: Callable[[str], Path]) -> Callable[[str], Rendered]:
    loaded: dict[str, Rendered] = {}

    def get(stack: str) -> Rendered:
        if stack not in loaded:
            folder = rendered(stack)
            loaded[stack] = Rendered(stack, folder, load_resources(folder), load_manifests(folder))
        return loaded[stack]

    return get
