"""The data guard under the real engine: `pulumi preview` and `up` compare the stack file with the stack's own
state by default (stacks/data_guard.py `before_up`), with no export handed to them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.conftest import EngineSession, edit_stack_file

pytestmark = pytest.mark.engine


def test_preview_refuses_a_data_move_against_the_stacks_own_state(engine_session: EngineSession) -> None:
    run = engine_session.stack("dev")
    assert run.up.returncode == 0, run.up.stderr
    assert run.preview.returncode == 0, run.preview.stderr  # a fresh stack's empty state guards nothing
    path = engine_session.project / "Pulumi.dev.yaml"
    original = path.read_text()

    def enterprise(config: dict[str, Any]) -> None:
        next(t for t in config["agent-platform:tenants"] if t["id"] == "globex").update(tier="enterprise")

    try:
        edit_stack_file(path, enterprise)
        refused = engine_session.run("preview", "--stack", "dev", check=False)
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0, output
        assert (
            "Pulumi.dev.yaml: agent-platform:tenants[1].tier: 'premium' -> 'enterprise' for tenant 'globex' "
            "repoints the tenant's PostgreSQL database 'globex-data' (DATABASE_URL would point at "
            "agent-platform-dev-globex instead of agent-platform-dev, an empty one)" in output
        )
        assert "Traceback" not in output
        # Refused before anything registered: the state still holds what the `up` made, and nothing more.
        after = engine_session.engine.export(engine_session.project, "dev")["deployment"]["resources"]
        assert {r["urn"] for r in after} == {r["urn"] for r in run.export["deployment"]["resources"]}
    finally:
        path.write_text(original)
    # The unchanged file passes the guard against the same state (no false refusal from the engine's values).
    unchanged = engine_session.run("preview", "--stack", "dev", check=False)
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
