"""The benchmark scripts keep working (their numbers are read from benchmarks/README.md, never asserted)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_render_scale_quick_mode_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.render_scale", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Scaling exponent" in result.stdout and "| 4 | 2 |" in result.stdout
