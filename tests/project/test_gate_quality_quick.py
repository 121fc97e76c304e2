"""The gate-quality benchmark keeps working: its quick mode runs end to end against a real Prometheus.

Its rates are read from benchmarks/results/gate_quality.md, never asserted; what is asserted is that the
report is complete and that the in-process path and the real Prometheus path gave the same verdicts.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_gate_quality_quick_mode_runs_and_both_paths_agree() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.gate_quality", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for section in ("## Targets (ours)", "## Worst rates per method", "## Requests to a decision", "## Cost per"):
        assert section in out, out
    agreement = re.search(r"(\d[\d,]*) evaluations .*: (\d[\d,]*) same verdict, (\d[\d,]*) different", out)
    assert agreement, out
    evaluations, same, different = (int(g.replace(",", "")) for g in agreement.groups())
    assert evaluations > 0 and same == evaluations and different == 0, out
