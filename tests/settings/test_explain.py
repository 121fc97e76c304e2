"""`python -m settings.explain` says the value a stack really gets and where it comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from settings.explain import explain, main
from tests.settings.test_stack_file import token_root  # noqa: F401  (fixture)


def test_each_source_is_named() -> None:
    assert explain("dev", "release_loop.resync_seconds") == [
        "release_loop.resync_seconds = 600  (dev default (ENVIRONMENT_DEFAULTS))"
    ]
    assert explain("prod", "data.postgres.multi_az") == ["data.postgres.multi_az = true  (Pulumi.prod.yaml)"]
    assert explain("prod", "tiers.standard.quota.pods") == ["tiers.standard.quota.pods = 125  (tier table (prod))"]
    assert explain("staging", "data.postgres.engine_version") == ['data.postgres.engine_version = "16.4"  (default)']


def test_a_subtree_lists_every_leaf_under_it() -> None:
    lines = explain("staging", "agents[0].scaling")
    assert lines[0] == "agents[0].scaling.min_replicas = null  (default)"
    assert all(line.startswith("agents[0].scaling.") for line in lines) and len(lines) == 7


def test_a_secret_is_never_shown(token_root: Path) -> None:  # noqa: F811
    assert explain("prod", "gates.prometheus.bearer_token", token_root) == [
        "gates.prometheus.bearer_token = [secret]  (Pulumi.prod.yaml)"
    ]


def test_an_unknown_key_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prod", "data.postgres.multi_azz"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: Pulumi.prod.yaml has no setting 'data.postgres.multi_azz'; see docs/settings.md"
    ]
