"""The GA checklist items the settings decide are refused by settings validation, exactly when the GA
readiness gate (gates/ga_checks.py `settings_findings`, the decision at `up`) fails them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gates.ga_checks import AgentFacts, settings_findings
from gates.ga_gate import ga_spec
from settings import SettingsError, validate
from settings.checks.ga import ga_checklist_holds
from settings.stack import StackSettings
from stacks import render
from tests.settings.test_settings import stack_raw

Change = Callable[[dict[str, Any]], None]
GA_AGENT = 2  # research-assistant, `ga` in Pulumi.prod.yaml


def _canary(**values: Any) -> Change:
    return lambda r: r["canary"].update(values)


def _agent_rollout(**values: Any) -> Change:
    return lambda r: r["agents"][GA_AGENT].setdefault("rollout", {}).update(values)


def _checklist(agent: str | None = None, **values: Any) -> Change:
    def change(raw: dict[str, Any]) -> None:
        ga = raw.setdefault("gates", {}).setdefault("ga", {})
        target = ga.setdefault("checklists", {}).setdefault(agent, {}) if agent else ga.setdefault("checklist", {})
        for key, value in values.items():
            if isinstance(value, dict):
                target.setdefault(key, {}).update(value)
            else:
                target[key] = value

    return change


def _many_tenants(raw: dict[str, Any]) -> None:
    """Forty tenants for the GA agent: a 5% cap then exposes two of them, a 2.5% cap one."""
    extra = [f"t{i:02d}" for i in range(36)]
    raw["tenants"] += [{"id": t} for t in extra]
    raw["agents"][GA_AGENT]["tenants"] += extra


def _both(*changes: Change) -> Change:
    def change(raw: dict[str, Any]) -> None:
        for c in changes:
            c(raw)

    return change


# name -> (change, the gate's failing findings, the lines settings validation prints)
CASES: dict[str, tuple[Change, set[str], list[str]]] = {
    "no SLO objectives": (
        lambda r: r.setdefault("slo", {}).update(latency=[]),
        {"require.slo_defined"},
        [
            "agent-platform:slo.latency: has no objectives, but the rollout checklist of GA agent "
            "'research-assistant' requires SLOs (gates.ga.checklist.require: slo_defined); give at least one "
            "latency objective"
        ],
    ),
    "stack policy block": (
        _canary(policy="block"),
        {"require.rollback_plan"},
        [
            "agent-platform:canary.policy: 'block' but the rollout checklist of GA agent 'research-assistant' "
            "requires a rollback plan (gates.ga.checklist.require: rollback_plan); use rollback"
        ],
    ),
    "agent policy block": (
        _agent_rollout(policy="block"),
        {"require.rollback_plan"},
        [
            f"agent-platform:agents[{GA_AGENT}].rollout.policy: 'block' but the rollout checklist of GA agent "
            "'research-assistant' requires a rollback plan (gates.ga.checklist.require: rollback_plan); use rollback"
        ],
    ),
    "exposure above the agent's checklist": (
        _both(_many_tenants, _checklist("research-assistant", rollout_mode={"max_tenant_exposure_pct": 2.5})),
        {"rollout_mode.max_tenant_exposure_pct"},
        [
            "agent-platform:canary.max_tenant_exposure_pct: 5% runs the canary of GA agent 'research-assistant' in "
            "2 of its 40 tenants before its gates pass, but the rollout checklist of GA agent 'research-assistant' "
            "allows 1 (gates.ga.checklists.research-assistant.rollout_mode.max_tenant_exposure_pct 2.5%); lower it "
            "to at most 2.5"
        ],
    ),
    "no shadow stage": (
        _canary(weights=[5, 25, 50, 100]),
        {"rollout_mode.require_shadow_period"},
        [
            "agent-platform:canary.weights: [5, 25, 50, 100] has no shadow stage, but the rollout checklist of GA "
            "agent 'research-assistant' requires one: start the weights with 0 (and set canary.shadow_duration)"
        ],
    ),
    # Items the checklist does not require are not refused, however the settings stand.
    "policy block, rollback plan not required": (
        _both(_canary(policy="block"), _checklist(require=["slo_defined", "oncall_owner"])),
        set(),
        [],
    ),
    "exposure within the checklist": (_many_tenants, set(), []),
}


def _settings(change: Change) -> StackSettings:
    """The changed prod settings as parsed, before the cross-field rules run."""
    raw = copy.deepcopy(stack_raw("prod"))
    change(raw)
    return StackSettings.model_validate(raw)


def _gate_failures(s: StackSettings) -> set[str]:
    agent = s.agents[GA_AGENT]
    spec = ga_spec(s, agent)
    facts = AgentFacts(**{**spec.facts, "capabilities": tuple(spec.facts["capabilities"])})
    return {f.name for f in settings_findings(spec.checklist, facts) if not f.passed}


@pytest.mark.parametrize("name", list(CASES))
def test_settings_refuse_exactly_what_the_gate_fails_on_settings(name: str) -> None:
    change, gate_fails, lines = CASES[name]
    s = _settings(change)
    assert _gate_failures(s) == gate_fails
    assert [f"agent-platform:{p.path}: {p.message}" for p in ga_checklist_holds(s)] == lines
    raw = copy.deepcopy(stack_raw("prod"))
    change(raw)
    if lines:
        with pytest.raises(SettingsError) as caught:
            validate("prod", raw)
        assert caught.value.lines == [f"Pulumi.prod.yaml: {line}" for line in lines]
    else:
        validate("prod", raw)


def test_only_prod_ga_agents_are_held_to_the_checklist() -> None:
    beta = _settings(lambda r: r["agents"][GA_AGENT].update(lifecycle_stage="beta") or _canary(policy="block")(r))
    assert list(ga_checklist_holds(beta)) == []
    staging = copy.deepcopy(stack_raw("staging"))
    staging["canary"] = {**staging.get("canary", {}), "policy": "block"}
    staging["agents"][0]["lifecycle_stage"] = "ga"
    assert list(ga_checklist_holds(StackSettings.model_validate(staging))) == []


def test_the_render_refuses_a_checklist_item_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, the render wrote build/prod and only then reported the failing gate."""
    text = (Path(render.PROJECT_ROOT) / "Pulumi.prod.yaml").read_text()
    anchor = "    weights: [0, 5, 25, 50, 100]\n"
    assert anchor in text
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(text.replace(anchor, anchor + "    policy: block\n"))
    out = tmp_path / "out"
    code = render.main(["prod", "--out", str(out), "--stack-file", str(stack_file)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines() == [f"Pulumi.prod.yaml: {CASES['stack policy block'][2][0]}"]
    assert "Traceback" not in captured.err
    assert not out.exists() or not any(out.iterdir())
