"""Reading a stack file: what is not a stack file, or not YAML, is refused with the file and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from settings import SettingsError, settings_from_config
from settings.loader import read_stack_file

ROOT = Path(__file__).resolve().parents[2]


def lines_of(tmp_path: Path, text: str, stack: str = "dev") -> list[str]:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        config = read_stack_file(path, stack)
        settings_from_config(stack, {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    return caught.value.lines


CASES = {
    "a list": (
        "- config\n",
        [
            "Pulumi.dev.yaml: is a YAML list, not a mapping; a stack file must be `config:` followed by "
            "`agent-platform:<setting>: <value>` lines"
        ],
    ),
    "syntax error": (
        "config:\n  agent-platform:tenants: [\n",
        [
            "Pulumi.dev.yaml:3: is not valid YAML: while parsing a flow node did not find expected node content; "
            "fix the syntax (indent with spaces, close brackets)"
        ],
    ),
    "duplicate key": (
        "config:\n  agent-platform:environment: dev\n  aws:region: us-east-1\n  agent-platform:environment: prod\n",
        ["Pulumi.dev.yaml:4: agent-platform:environment: is given twice (first on line 2); keep one"],
    ),
    "duplicate nested key": (
        "config:\n  agent-platform:tenants:\n    - id: acme\n      tier: standard\n      tier: premium\n",
        ["Pulumi.dev.yaml:5: agent-platform:tenants[0].tier: is given twice (first on line 4); keep one"],
    ),
    "unknown top-level key": (
        "confg:\n  agent-platform:environment: dev\n",
        [
            "Pulumi.dev.yaml: confg: unknown top-level key; did you mean 'config'? allowed: config, "
            "secretsprovider, encryptedkey, encryptionsalt, environment"
        ],
    ),
    "config not a mapping": (
        "config:\n  - agent-platform:environment\n",
        ["Pulumi.dev.yaml: config: is a YAML list; it must be a mapping of `agent-platform:<setting>: <value>`"],
    ),
    "misspelt namespace": (
        "config:\n  agent-platfrom:backups: {}\n",
        [
            "Pulumi.dev.yaml: agent-platfrom:backups: unknown config namespace 'agent-platfrom', so nothing reads "
            "this setting; did you mean 'agent-platform'? allowed: agent-platform, aws, kubernetes, pulumi"
        ],
    ),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
def test_stack_file_problems_name_the_file_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert lines_of(tmp_path, text) == expected


def test_a_key_without_namespace_is_the_projects(tmp_path: Path) -> None:
    """Pulumi reads `config: {environment: dev}` as `agent-platform:environment` (the project's namespace)."""
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  environment: dev\n  aws:region: us-east-1\n")
    assert read_stack_file(path, "dev") == {"agent-platform:environment": "dev", "aws:region": "us-east-1"}


def test_the_real_stack_files_read_cleanly() -> None:
    for stack in ("dev", "staging", "prod"):
        assert "agent-platform:tenants" in read_stack_file(ROOT / f"Pulumi.{stack}.yaml", stack)
