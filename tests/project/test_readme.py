"""The README's commands and settings reference match the code."""

from __future__ import annotations

from settings.reference import generated_block
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_settings_reference_is_generated_from_the_models() -> None:
    assert generated_block() in README, "run: python -m settings.reference --write README.md"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    assert "\n./scripts/test.sh\n" in README
    assert "exec ./scripts/test.sh\n" in (ROOT / ".ci/run").read_text()


def test_readme_main_command_renders_dev() -> None:
    assert "\n./scripts/setup.sh && .venv/bin/python -m stacks.render dev\n" in README
