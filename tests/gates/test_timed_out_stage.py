"""A stage whose gate cannot decide by its maximum holds, and its report says how the operator moves on."""

from __future__ import annotations

import re
from pathlib import Path

from gates.decision import TIMED_OUT_WAYS_FORWARD, Check, Timing, combine
from settings.stack import StackSettings

ROOT = Path(__file__).resolve().parents[2]
UNDECIDED = Check("error_slo", "inconclusive", "not enough evidence", "< 0.5%", more_requests=40_597)


def test_a_timed_out_stage_reports_its_ways_forward() -> None:
    decision = combine([UNDECIDED], canary_requests=1_200, timing=Timing(9_600, 2_400, 9_600))
    assert decision.verdict == "inconclusive"
    assert decision.reason == (
        "stage timed out after 160 minutes and error_slo still cannot decide; it holds at this weight. Ways "
        "forward (docs/releasing.md, a stage that times out): review this report and promote (automatic releases: "
        "the `promote` control; pull requests: `up` again once the requests below have come), give the stage "
        "longer (canary.max_duration_factor), or roll back (the `abort` control or rollout.rollback: true)"
    )
    report = decision.report("support-bot acme")
    assert "needs about 40,597 more canary requests (about 5413 minutes at the current rate)" in report


def test_a_stage_within_its_maximum_says_only_what_it_lacks() -> None:
    decision = combine([UNDECIDED], canary_requests=1_200, timing=Timing(3_000, 2_400, 9_600))
    assert decision.reason == "not enough evidence yet for error_slo"


def test_every_setting_and_section_the_ways_forward_name_exists() -> None:
    """The settings it names are real paths of the stack file, and docs/releasing.md has the section."""
    fields = StackSettings.model_fields
    assert "max_duration_factor" in fields["canary"].annotation.model_fields  # type: ignore[union-attr]
    assert "rollback" in fields["agents"].annotation.__args__[0].model_fields["rollout"].annotation.model_fields  # type: ignore[union-attr]
    releasing = (ROOT / "docs" / "releasing.md").read_text()
    assert re.search(r"^## A stage that times out$", releasing, re.MULTILINE)
    for control in ("promote", "abort"):
        assert f"release_control prod support-bot {control}" in releasing
    assert "docs/releasing.md, a stage that times out" in TIMED_OUT_WAYS_FORWARD
