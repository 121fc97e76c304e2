"""The README's commands and the settings reference (docs/settings.md) match the code."""

from __future__ import annotations

import re

import yaml

from settings.reference import ENVIRONMENT_OVERRIDES, generated_block
from settings.stack_file import read
from tests.conftest import ROOT
from tests.settings.test_data_checks import raw_settings

README = (ROOT / "README.md").read_text()


def test_settings_reference_is_generated_from_the_models() -> None:
    reference = (ROOT / "docs" / "settings.md").read_text()
    assert generated_block() in reference, "run: python -m settings.reference --write docs/settings.md"
    assert "(docs/settings.md)" in README


def test_the_default_column_names_each_environment_default() -> None:
    """A default that ENVIRONMENT_DEFAULTS replaces is shown per environment, not only the model's."""
    rows = {
        line.split(" | ")[0].strip("| `"): line for line in generated_block().splitlines() if line.startswith("| `")
    }
    assert ENVIRONMENT_OVERRIDES["prod"]
    for env, overrides in ENVIRONMENT_OVERRIDES.items():
        for path, value in overrides.items():
            assert f"{env} `{value!r}`" in rows[path], path
    assert "`False`; staging `True`, prod `True`" in rows["data.postgres.multi_az"]


def test_the_readme_is_mostly_prose() -> None:
    """The generated reference lives in docs/settings.md; the README keeps what a newcomer reads first."""
    assert "<!-- settings-reference:start -->" not in README
    for heading in ("## Stacks", "## How to"):
        assert heading in README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    assert "\n./scripts/test.sh\n" in README
    assert "exec ./scripts/test.sh\n" in (ROOT / ".ci/run").read_text()


def test_readme_main_command_renders_dev() -> None:
    assert "\n./scripts/setup.sh && .venv/bin/python -m stacks.render dev\n" in README


def test_the_stacks_table_says_what_the_stack_files_and_workflows_do() -> None:
    table = README.split("<!-- stacks-table:start -->", 1)[1].split("<!-- stacks-table:end -->", 1)[0]
    rows = {
        line.split(" | ")[0].strip("| `"): line.split(" | ") for line in table.splitlines() if line.startswith("| `")
    }
    assert set(rows) == {"dev", "staging", "prod"}
    for stack, (_, cluster, counts, _, _) in rows.items():
        raw = raw_settings(stack)
        assert counts == f"{len(raw['tenants'])} / {len(raw['agents'])}", stack
        source = raw["cluster"].get("stack_reference") or raw["cluster"]["context"]
        assert f"`{source}`" in cluster, stack
        assert read(stack).values  # the stack file exists and is read by the one reader
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    assert {job.get("environment") for job in jobs.values()} - {None} == {"staging", "prod"}
    assert jobs["up-prod"]["environment"] == "prod" and jobs["up-prod"]["needs"] == "smoke-staging"


def test_the_readme_backend_steps_match_the_workflows_backend_story() -> None:
    """The README creates stacks the way docs/delivery.md's state backend section does (the same secrets
    provider, `organization` on a self-managed backend) and names the organisation the stack files use."""
    delivery = (ROOT / "docs" / "delivery.md").read_text()
    (provider,) = set(re.findall(r"--secrets-provider (\S+)", delivery))
    section = README.split("## Using it for real", 1)[1].split("\n## ", 1)[0]
    assert f"pulumi stack init organization/staging --secrets-provider {provider}" in section
    orgs = set(re.findall(r"stack_reference: ([\w-]+)/", "".join(p.read_text() for p in ROOT.glob("Pulumi.*.yaml"))))
    assert orgs == {"acme-platform"} and "pulumi stack init acme-platform/staging" in section
