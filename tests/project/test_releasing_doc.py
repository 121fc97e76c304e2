"""docs/releasing.md states facts the code and the measurements decide: they are checked here."""

from __future__ import annotations

import math
import re

import yaml

from settings.canary import CanaryPolicy
from settings.slo import seconds as duration_seconds
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "releasing.md").read_text()


def test_the_stage_minutes_follow_the_measured_median_and_the_default_policy() -> None:
    """The table is max(minimum, median / (weight x rate)), with the gate grid's measured healthy median
    and the default weights, minimums and timeout factor."""
    (median,) = re.findall(r"healthy median ([\d,]+) canary requests", (ROOT / "benchmarks" / "README.md").read_text())
    assert f"median of **{median} canary requests**" in DOC
    policy = CanaryPolicy()
    gated = [
        (w, duration_seconds(m) / 60)
        for w, m in zip([w for w in policy.weights if 0 < w < 100], policy.min_durations, strict=True)
    ]
    table = DOC.split("<!-- stage-minutes:start -->", 1)[1].split("<!-- stage-minutes:end -->", 1)[0].strip()
    rows = [row.strip("|").split(" | ") for row in table.splitlines()[2:]]
    header = [h.strip() for h in table.splitlines()[0].strip("|").split(" | ")[1:]]
    assert header == [f"{w}% (min {m:g})" for w, m in gated]
    for rate_text, *cells in rows:
        rate = int(rate_text.strip().replace(",", ""))
        expected = []
        for weight, minimum in gated:
            minutes = max(minimum, int(median.replace(",", "")) / (weight / 100 * rate))
            maximum = minimum * policy.max_duration_factor
            expected.append(f"{math.ceil(minutes):,}" + (f" (times out at {maximum:g})" if minutes > maximum else ""))
        assert [c.strip() for c in cells] == expected


def test_a_held_staging_gate_stands_between_every_merge_and_prod() -> None:
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    assert jobs["up-prod"]["needs"] == "smoke-staging" and jobs["smoke-staging"]["needs"] == "up-staging"
    assert "`up-prod` needs `smoke-staging`, which needs `up-staging`" in DOC
