"""The production-traffic-shapes benchmark keeps working: its quick mode runs end to end.

Its rates are asserted by tests/gates/test_decision_statistics.py at full size; here, that the report is
complete and names the floors the efficiency figures are measured against.
"""

from __future__ import annotations

from benchmarks import gate_grid


def test_gate_grid_quick_mode_reports_every_method_and_the_floors(tmp_path) -> None:
    out = tmp_path / "gate_grid.md"
    assert gate_grid.main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    for method in ("| ours |", "| static |", "| fixed-sample |", "| ours, one gate over all tenants |"):
        assert method in text
    assert "error_ratio, the gate's hypotheses: 60,430" in text
    assert "error_ratio, equality vs 1.5x: 26,146" in text
