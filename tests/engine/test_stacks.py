"""`pulumi preview` and `pulumi up` of every stack with the real engine, compared with the offline render.

The engine checks what the SDK's mocks never do: URNs, parents, providers, dependencies and options as it
stores them in the state, and a second `up` that must find nothing to change.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import load_manifests, load_resources
from tests.engine.conftest import PARALLEL, STACKS, EngineSession, resources_by_urn

pytestmark = pytest.mark.engine

ROOT_STACK = "pulumi:pulumi:Stack"
DEFAULT_PROVIDER_TYPES = {
    "pulumi:providers:pulumi": "the StackReference's provider, built into the engine",
    "pulumi:providers:pulumi-python": "the dynamic resources' provider (pulumi-resource-pulumi-python)",
}
"""Providers the engine creates for resources registered without an explicit one; the SDK's mocks have none."""
READ_TYPES = {
    "pulumi:pulumi:StackReference": "read, not registered (`ReadResource`): the offline recording lists "
    "registrations, the engine's state also holds what a program reads",
}
SLO_GATE = "pulumi-python:dynamic/agent-platform:SloGate"
HOLDS_ON_A_FRESH_STACK = {
    "staging": "its agents are at stage 1, whose SLO gates ask the cluster's Prometheus through the API server "
    "(and need 10 minutes of the stage-0 clock this `up` starts): with no cluster they fail closed, the `up` "
    "fails and nothing that waits on them is created. The engine also cancels what was still pending when the "
    "update failed, so some resources that do not wait on a gate are left to the next `up` too.",
}
"""Stacks whose `up` must stop at a gate here, and why: the offline render shows those gates passed."""


def blocked_by_gates(offline: dict[str, dict[str, Any]]) -> set[str]:
    """The SLO gates and everything that waits on them: dependents and, since a child registers with its
    parent's URN, the children of anything blocked."""
    blocked = {urn for urn, r in offline.items() if r["type"] == SLO_GATE}
    while True:
        more = {
            urn
            for urn, r in offline.items()
            if urn not in blocked and (r["parent"] in blocked or blocked.intersection(r["dependencies"]))
        }
        if not more:
            return blocked
        blocked |= more


def provider_urn(reference: str) -> str:
    """`<provider urn>::<provider id>` -> the URN."""
    return reference.rsplit("::", 1)[0] if reference else ""


def engine_record(resource: dict[str, Any], default_providers: set[str]) -> dict[str, Any]:
    """A resource of `pulumi stack export` in the offline render's terms (resources.json)."""
    provider = provider_urn(resource.get("provider", ""))
    options = {
        "protect": resource.get("protect", False),
        "retain_on_delete": resource.get("retainOnDelete", False),
        "delete_before_replace": resource.get("deleteBeforeReplace", False),
        "ignore_changes": sorted(resource.get("ignoreChanges") or []),
    }
    return {
        "urn": resource["urn"],
        "type": resource["type"],
        "custom": resource.get("custom", False),
        "parent": resource.get("parent", ""),
        "provider": "" if provider in default_providers else provider,
        "dependencies": sorted(set(resource.get("dependencies") or [])),
        "options": {k: v for k, v in options.items() if v},
    }


def offline_record(resource: dict[str, Any], root_stack: str) -> dict[str, Any]:
    compared = ("protect", "retain_on_delete", "delete_before_replace", "ignore_changes")
    return {
        "urn": resource["urn"],
        "type": resource["type"],
        "custom": resource["custom"],
        # The SDK parents every resource without an explicit parent on the root stack, which the offline
        # render does not record; the engine stores that parent.
        "parent": resource["parent"] or root_stack,
        "provider": resource["provider"],
        "dependencies": resource["dependencies"],
        "options": {k: v for k, v in resource["options"].items() if k in compared},
    }


@pytest.mark.parametrize("stack", STACKS)
def test_preview_and_up_succeed_or_hold_at_a_gate(engine_session: EngineSession, stack: str) -> None:
    run = engine_session.stack(stack)
    assert run.preview.returncode == 0 and "error" not in run.preview.stderr.lower(), run.preview.stderr
    if stack in HOLDS_ON_A_FRESH_STACK:
        assert run.up.returncode != 0, run.up.stdout[-3000:]
        assert "GateBlockedError" in run.up.stdout or "gate" in run.up.stdout.lower(), run.up.stdout[-3000:]
    else:
        assert run.up.returncode == 0, run.up.stdout[-6000:] + run.up.stderr[-3000:]
        assert " created" in run.up.stdout, run.up.stdout[-3000:]


def test_the_ga_gate_fails_closed_without_evidence_and_passes_with_it(engine_session: EngineSession) -> None:
    """Prod's `ga` agents sit behind the GA readiness gate in the real dynamic-provider host: with no evidence
    files the `up` fails naming each missing file and no workload of the agent is created; with the files a
    team saves, the same `up` passes (test_preview_and_up_succeed_or_hold_at_a_gate[prod])."""
    run = engine_session.stack("prod")
    held = run.without_evidence
    assert held is not None and held.returncode != 0
    assert "GaGateFailedError" in held.stdout and "missing file" in held.stdout, held.stdout[-3000:]
    assert run.up.returncode == 0
    gates = [r for r in resources_by_urn(run.export).values() if r["type"].endswith("agent-platform:GaReadinessGate")]
    assert gates and all(r["outputs"]["verdict"] == "pass" for r in gates)


@pytest.mark.parametrize("stack", STACKS)
def test_engine_resources_equal_the_offline_render(engine_session: EngineSession, stack: str) -> None:
    run = engine_session.stack(stack)
    state = resources_by_urn(run.export)
    root = next(urn for urn, r in state.items() if r["type"] == ROOT_STACK)
    default_providers = {
        urn for urn, r in state.items() if r["type"] in DEFAULT_PROVIDER_TYPES and r["urn"].endswith("::default")
    }
    reads = {urn for urn, r in state.items() if r["type"] in READ_TYPES}
    assert all(state[urn].get("external") for urn in reads), "a read resource is external to the stack"
    engine = {
        urn: engine_record(r, default_providers)
        for urn, r in state.items()
        if urn != root and urn not in default_providers and urn not in reads
    }
    rendered = {r["urn"]: r for r in load_resources(run.offline)}
    offline = {urn: offline_record(r, root) for urn, r in rendered.items()}
    assert sorted(engine.keys() - offline.keys()) == []
    if stack in HOLDS_ON_A_FRESH_STACK:
        blocked = blocked_by_gates(rendered)
        assert blocked and not blocked & engine.keys(), "nothing that waits on a held gate was created"
        offline = {urn: r for urn, r in offline.items() if urn in engine}
    assert sorted(offline.keys() - engine.keys()) == []
    different = {urn: (offline[urn], engine[urn]) for urn in offline if offline[urn] != engine[urn]}
    assert different == {}
    assert {state[urn]["type"] for urn in default_providers} <= DEFAULT_PROVIDER_TYPES.keys()


class ProviderYaml(yaml.SafeLoader):
    """The provider writes YAML 1.2 (go-yaml), where a bare `=` (an HTTPRoute-style `matchType: =`) is a string;
    PyYAML reads YAML 1.1, whose `=` is the `value` tag with no constructor."""


ProviderYaml.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def provider_objects(folder: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every object the Kubernetes provider wrote under renderYamlToDirectory (`0-crd/`, `1-manifest/`)."""
    objects = {}
    for path in sorted(folder.rglob("*.yaml")):
        for obj in yaml.load_all(path.read_text(), Loader=ProviderYaml):  # a SafeLoader
            if obj:
                meta = obj["metadata"]
                objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj
    return objects


QUANTITY = re.compile(r"^([+-]?[0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$")
SCALE = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    **{f"{p}i": Decimal(2) ** (10 * (i + 1)) for i, p in enumerate("KMGTPE")},
}
QUANTITY_MAPS = {"limits", "requests", "hard", "default", "defaultRequest", "max", "min", "capacity"}
"""Maps whose values are resource.Quantity: the provider writes each in its canonical form (2000m -> 2,
1000 -> 1k: k8s.io/apimachinery/pkg/api/resource Quantity.String), the same amount the render wrote."""
ZERO_OMITTED = {"initialDelaySeconds"}
"""int32 fields the provider's Go types mark `omitempty`: a 0 the render writes is not written, and the API's
default for an absent one is that same 0 (k8s.io/api/core/v1 Probe)."""


def amount(text: str) -> Decimal | str:
    match = QUANTITY.match(text)
    if not match:
        return text
    number, suffix = match.groups()
    if suffix and suffix[0] in "eE":
        return Decimal(number) * Decimal(10) ** int(suffix[1:])
    return Decimal(number) * SCALE[suffix]


def as_the_api_sees_it(value: Any, key: str = "") -> Any:
    """An object with the provider's two rewrites undone: quantities as amounts, omitted zeros dropped."""
    if isinstance(value, dict):
        return {
            k: amount(v) if key in QUANTITY_MAPS and isinstance(v, str) else as_the_api_sees_it(v, k)
            for k, v in value.items()
            if not (k in ZERO_OMITTED and v == 0)
        }
    if isinstance(value, list):
        return [as_the_api_sees_it(v, key) for v in value]
    return value


@pytest.mark.parametrize("stack", STACKS)
def test_provider_manifests_match_the_offline_render(engine_session: EngineSession, stack: str) -> None:
    run = engine_session.stack(stack)
    written = provider_objects(run.manifests)
    rendered = {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj
        for obj in load_manifests(run.offline).values()
    }
    if stack in HOLDS_ON_A_FRESH_STACK:
        # Only what the held `up` created is written; nothing that waits on a gate is among it.
        resources = {r["urn"]: r for r in load_resources(run.offline)}
        blocked = {
            (r["inputs"]["kind"], r["inputs"]["metadata"].get("namespace", ""), r["inputs"]["metadata"]["name"])
            for urn, r in resources.items()
            if urn in blocked_by_gates(resources) and isinstance(r["inputs"].get("metadata"), dict)
        }
        assert blocked and not blocked & written.keys()
        rendered = {key: obj for key, obj in rendered.items() if key in written}
    assert sorted(written.keys() - rendered.keys()) == []
    assert sorted(rendered.keys() - written.keys()) == []
    rewritten = sorted(key for key in rendered if rendered[key] != written[key])
    different = sorted(key for key in rendered if as_the_api_sees_it(rendered[key]) != as_the_api_sees_it(written[key]))
    assert different == []
    assert rewritten, "the provider's rewrites above are real: without them this comparison would be exact"


@pytest.mark.parametrize("stack", STACKS)
def test_second_up_reports_no_changes(engine_session: EngineSession, stack: str) -> None:
    run = engine_session.stack(stack)
    if stack in HOLDS_ON_A_FRESH_STACK:
        # A held stack's next `up` evaluates its gates again (they hold again) and changes nothing it made.
        again = engine_session.run(
            "up", "--stack", stack, "--yes", "--skip-preview", "--parallel", PARALLEL, check=False
        )
        assert again.returncode != 0 and "GateBlockedError" in again.stdout, again.stdout[-3000:]
        summary = again.stdout.split("Resources:", 1)[1]
        assert not any(word in summary for word in ("deleted", "replaced", "updated")), summary
        before = resources_by_urn(run.export)
        after = resources_by_urn(engine_session.engine.export(run.project, stack))
        assert before.keys() <= after.keys()
        changed = {
            urn: sorted(k for k, v in (after[urn].get("outputs") or {}).items() if (r.get("outputs") or {}).get(k) != v)
            for urn, r in before.items()
            # A component records its outputs once its whole body has run, which a held `up` cut short; a read
            # is read again by every `up` (its secret outputs encrypted anew).
            if r.get("custom") and r["type"] not in READ_TYPES and after[urn].get("outputs") != r.get("outputs")
        }
        assert changed == {}, "nothing it made changed"
        return
    again = engine_session.run(
        "up", "--stack", stack, "--yes", "--skip-preview", "--expect-no-changes", "--parallel", PARALLEL
    )
    assert "changes" not in again.stdout.split("Resources:", 1)[1].split("Duration", 1)[0], again.stdout
