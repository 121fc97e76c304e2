"""The outputs contract (stacks/outputs.py) is what every render exports, and its generated README table and
JSON Schema are current."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from stacks import outputs
from stacks.outputs import SCHEMA_VERSION, StackOutputs
from tests.conftest import STACKS


def exported(rendered: Callable[[str], Path], stack: str) -> dict[str, Any]:
    return json.loads((rendered(stack) / "outputs.json").read_text())


@pytest.mark.parametrize("stack", STACKS)
def test_every_render_exports_exactly_the_contract(rendered: Callable[[str], Path], stack: str) -> None:
    values = exported(rendered, stack)
    parsed = StackOutputs.model_validate(values)  # extra keys and missing ones both fail
    assert parsed.schema_version == SCHEMA_VERSION
    assert parsed.environment == stack
    jsonschema.validate(values, outputs.json_schema())


def test_the_contract_refuses_an_undocumented_or_missing_output(rendered: Callable[[str], Path]) -> None:
    values = exported(rendered, "prod")
    extra = copy.deepcopy(values)
    extra["agents"][next(iter(extra["agents"]))]["surprise"] = 1
    missing = copy.deepcopy(values)
    del missing["data"]["storage_class"]
    for broken in (extra, missing):
        with pytest.raises(ValidationError):
            StackOutputs.model_validate(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, outputs.json_schema())


def without_nulls(value: Any) -> Any:
    """What a Python program reads through a StackReference: map entries whose value is null do not arrive
    (seen with the real engine: tests/engine/test_consumers.py)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize("stack", STACKS)
def test_what_a_stack_reference_reads_is_still_the_contract(rendered: Callable[[str], Path], stack: str) -> None:
    values = exported(rendered, stack)
    read = without_nulls(values)
    assert read != values, "the render exports null fields, which a consumer reads as absent"
    jsonschema.validate(read, outputs.json_schema())
    assert StackOutputs.model_validate(read) == StackOutputs.model_validate(values)


def test_readme_table_and_json_schema_are_generated_from_the_models() -> None:
    assert outputs.main([]) == 0, "run: python -m stacks.outputs --write"
    assert SCHEMA_VERSION in outputs.CHANGELOG


def test_the_drift_check_sees_a_stale_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = outputs.README.read_text().replace("| `environment` |", "| `environment_name` |")
    monkeypatch.setattr(outputs, "README", tmp_path / "README.md")
    (tmp_path / "README.md").write_text(stale)
    assert outputs.main([]) == 1
