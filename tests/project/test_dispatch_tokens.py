"""Every way to start a workflow from outside is documented with the token permission GitHub requires for it.

GitHub's REST reference: "Create a repository dispatch event" requires "Contents" repository permissions
(write) for fine-grained tokens and GitHub Apps (with metadata: read); "Create a workflow dispatch event"
requires "Actions" repository permissions (write) (docs.github.com/en/rest/repos/repos and
docs.github.com/en/rest/actions/workflows)."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT
from tests.project.test_delivery import WORKFLOWS

PERMISSION = {"repository_dispatch": "Contents: read and write", "workflow_dispatch": "Actions: read and write"}


def external_triggers() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        on = workflow.get("on", workflow.get(True))
        for event in [on] if isinstance(on, str) else on:
            if event in PERMISSION:
                out.setdefault(path.name, set()).add(event)
    return out


def test_the_rollback_entry_points_name_the_permission_each_needs() -> None:
    text = (ROOT / "docs/ci-setup.md").read_text()
    section = text[text.index("## Who may start a rollback") :]
    triggers = external_triggers()["rollback.yml"]
    assert triggers == {"repository_dispatch", "workflow_dispatch"}
    for event in triggers:
        (row,) = [line for line in section.splitlines() if line.startswith(f"| `{event}` |")]
        assert f"**{PERMISSION[event]}**" in row, event
    assert re.search(r"GitHub App of its own, installed on\s+this repository only", section)


def test_the_relay_is_told_not_to_use_the_app_that_bypasses_main() -> None:
    section = (ROOT / "docs/ci-setup.md").read_text().split("## Who may start a rollback")[1]
    assert "Do not reuse the rollback\nApp" in section or "Do not reuse the rollback App" in section
