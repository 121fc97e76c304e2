"""The agent-checks benchmark keeps working: its quick mode runs end to end and reports both methods.

Its rates are asserted by tests/gates/test_agent_statistics.py; here, that the report is complete.
"""

from __future__ import annotations

from benchmarks import agent_gate


def test_agent_gate_quick_mode_reports_ours_and_the_static_threshold(tmp_path) -> None:
    out = tmp_path / "agent_gate.md"
    assert agent_gate.main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    for truth in agent_gate.TRUTHS:
        assert f"| {truth.name} | ours | every 5m |" in text
        assert f"| {truth.name} | static | once |" in text
    assert "Canary requests to a decision" in text
