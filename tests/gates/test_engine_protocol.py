"""The dynamic providers through the real dynamic-provider host, called over gRPC the way the engine calls it.

The host is the SDK's own (`python -m pulumi.dynamic`, the process the Pulumi CLI starts for dynamic
resources); the requests are what the engine sends: Check, Create, Diff and Update with properties in
the engine's protobuf form. The engine's rule this relies on: DIFF_NONE is a same step (no Update call),
DIFF_SOME with `replaces` a replacement (Create of a new resource), DIFF_SOME without an Update.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from gates.ga_gate import OUTPUT_KEYS as GA_OUTPUT_KEYS
from gates.ga_gate import GaReadinessGateProvider
from gates.pickling import serialize_provider
from gates.prometheus import TOKEN_ENV
from gates.slo_gate import OUTPUT_KEYS, SloGateProvider
from gates.stage_clock import FixedClock, StageClockProvider, format_time
from testing.prometheus_server import free_port
from tests.gates.scenarios import EVALUATED_AT
from tests.gates.test_ga_gate import NOW as GA_NOW
from tests.gates.test_ga_gate import spec as ga_spec
from tests.gates.test_slo_gate_scenarios import spec_for

ROOT = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:dev::agent-platform::pulumi-python:dynamic/agent-platform:SloGate::support-bot-gate-2"
TOKEN = "token-that-must-never-reach-the-state"


@pytest.fixture(scope="module")
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), TOKEN_ENV: TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi.dynamic"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        port = int(process.stdout.readline().decode().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=15)
        yield provider_pb2_grpc.ResourceProviderStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def to_struct(props: dict[str, Any]) -> struct_pb2.Struct:
    return asyncio.run(rpc.serialize_properties(props, {}))


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    return rpc.deserialize_properties(struct)


def inputs(url: str, **overrides: Any) -> dict[str, Any]:
    spec = spec_for(url, "healthy", **overrides)
    provider = serialize_provider(SloGateProvider(FixedClock(format_time(EVALUATED_AT))))
    return {**spec.model_dump(), "__provider": provider}


def create(host, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=to_struct({}), news=to_struct(props)))
    assert not checked.failures, checked.failures
    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=checked.inputs))
    return created.id, from_struct(created.properties)


def test_create_evaluates_and_stores_the_verdict_without_secrets(host, prometheus) -> None:
    _, outputs = create(host, inputs(prometheus.url))
    assert outputs["verdict"] == "pass"
    assert outputs["passed_at"] == format_time(EVALUATED_AT)
    assert TOKEN not in repr(outputs)


def test_check_names_the_bad_input(host, prometheus) -> None:
    bad = inputs(prometheus.url) | {"canary_version": "1.4.2"}
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=to_struct({}), news=to_struct(bad)))
    assert any("is the stable version" in f.reason for f in checked.failures)


def test_check_accepts_inputs_known_only_at_up(host, prometheus) -> None:
    """In a preview the stage clock's time is unknown: the engine sends the sentinel, the host hands `check`
    an Unknown, and `check` must leave it for `create` (found by a real `pulumi preview` of staging)."""
    preview = inputs(prometheus.url) | {"stage_started_at": rpc.UNKNOWN}
    checked = host.Check(provider_pb2.CheckRequest(urn=URN, olds=to_struct({}), news=to_struct(preview)))
    assert list(checked.failures) == []


def diff(host, urn: str, gate_id: str, olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.DiffResponse:
    return host.Diff(provider_pb2.DiffRequest(id=gate_id, urn=urn, olds=to_struct(olds), news=to_struct(news)))


def update(host, urn: str, gate_id: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    request = provider_pb2.UpdateRequest(id=gate_id, urn=urn, olds=to_struct(olds), news=to_struct(news))
    return from_struct(host.Update(request).properties)


@pytest.mark.parametrize(
    "change",
    [
        {"prometheus_url": "moved"},
        {"query_timeout_seconds": 3.0},
        {"deadline_seconds": 30.0},
        {"retries": 0},
        {"prometheus_url": "moved", "query_timeout_seconds": 3.0, "deadline_seconds": 30.0, "retries": 5},
    ],
    ids=["url", "query timeout", "deadline", "retries", "all of them"],
)
def test_a_connection_only_change_is_no_change(host, prometheus, change: dict[str, Any]) -> None:
    """The engine skips `update` on DIFF_NONE, so the verdict stands and nothing is queried."""
    gate_id, outputs = create(host, inputs(prometheus.url))
    if change.get("prometheus_url") == "moved":
        change = change | {"prometheus_url": f"http://127.0.0.1:{free_port()}"}  # nothing listens there
    response = diff(host, URN, gate_id, outputs, inputs(prometheus.url) | change)
    assert response.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert list(response.replaces) == []


def test_an_update_the_engine_sends_anyway_keeps_the_verdict_without_querying(host, prometheus) -> None:
    gate_id, outputs = create(host, inputs(prometheus.url))
    # Nothing listens here: an evaluation would be an `error` and fail the call.
    moved = inputs(f"http://127.0.0.1:{free_port()}") | {"query_timeout_seconds": 3.0}
    kept = update(host, URN, gate_id, outputs, moved)
    assert {k: kept[k] for k in OUTPUT_KEYS} == {k: outputs[k] for k in OUTPUT_KEYS}
    assert kept["prometheus_url"] == moved["prometheus_url"]


def test_nothing_changed_means_no_diff(host, prometheus) -> None:
    gate_id, outputs = create(host, inputs(prometheus.url))
    diff = host.Diff(
        provider_pb2.DiffRequest(id=gate_id, urn=URN, olds=to_struct(outputs), news=to_struct(inputs(prometheus.url)))
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE


@pytest.mark.parametrize(
    "change",
    [{"canary_version": "1.6.0"}, {"stage": 3, "weight": 50}, {"stage_started_at": "2025-01-06T10:05:00Z"}],
    ids=["new canary version", "next stage", "stage restarted"],
)
def test_a_change_that_matters_replaces_the_gate(host, prometheus, change: dict[str, Any]) -> None:
    gate_id, outputs = create(host, inputs(prometheus.url))
    diff = host.Diff(
        provider_pb2.DiffRequest(
            id=gate_id, urn=URN, olds=to_struct(outputs), news=to_struct(inputs(prometheus.url, **change))
        )
    )
    assert set(diff.replaces) == set(change)


def test_a_gate_that_does_not_pass_fails_the_call_with_its_report(host, prometheus) -> None:
    props = inputs(prometheus.url) | {"agent_id": "low-traffic"}
    with pytest.raises(grpc.RpcError) as failure:
        create(host, props)
    assert "INCONCLUSIVE" in failure.value.details()
    assert "more canary requests" in failure.value.details()


CLOCK_URN = "urn:pulumi:dev::agent-platform::pulumi-python:dynamic/agent-platform:StageClock::support-bot-clock"
GA_URN = "urn:pulumi:prod::agent-platform::pulumi-python:dynamic/agent-platform:GaReadinessGate::support-bot-ga-gate"


def clock_inputs(**overrides: Any) -> dict[str, Any]:
    provider = serialize_provider(StageClockProvider(FixedClock("2025-01-06T10:00:00Z")))
    props = {"agent_id": "support-bot", "tenant_id": "acme", "stage": 2, "canary_version": "1.5.0"}
    return props | overrides | {"applied_at": None, "__provider": provider}


def ga_inputs(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    provider = serialize_provider(GaReadinessGateProvider(FixedClock(format_time(GA_NOW))))
    return {**ga_spec(tmp_path).model_dump(), **overrides, **dict.fromkeys(GA_OUTPUT_KEYS), "__provider": provider}


def create_as(host, urn: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    created = host.Create(provider_pb2.CreateRequest(urn=urn, properties=to_struct(props)))
    return created.id, from_struct(created.properties)


def test_the_stage_clock_replaces_on_any_change_and_never_asks_for_an_update(host) -> None:
    clock_id, outputs = create_as(host, CLOCK_URN, clock_inputs())
    assert outputs["applied_at"] == "2025-01-06T10:00:00Z"
    assert diff(host, CLOCK_URN, clock_id, outputs, clock_inputs()).changes == provider_pb2.DiffResponse.DIFF_NONE
    for change in ({"stage": 3}, {"canary_version": "1.6.0"}, {"tenant_id": "globex"}):
        response = diff(host, CLOCK_URN, clock_id, outputs, clock_inputs(**change))
        assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
        assert set(response.replaces) == set(change)


def test_an_update_of_the_stage_clock_keeps_its_time(host) -> None:
    """The SDK's default `update` returns no outputs: the stage would lose its start, and the gate its window."""
    clock_id, outputs = create_as(host, CLOCK_URN, clock_inputs())
    later = clock_inputs() | {"__provider": serialize_provider(StageClockProvider(FixedClock("2025-01-07T00:00:00Z")))}
    assert update(host, CLOCK_URN, clock_id, outputs, later)["applied_at"] == outputs["applied_at"]


def test_the_ga_gate_replaces_on_any_change_and_never_asks_for_an_update(host, tmp_path) -> None:
    gate_id, outputs = create_as(host, GA_URN, ga_inputs(tmp_path))
    assert outputs["verdict"] == "pass"
    assert diff(host, GA_URN, gate_id, outputs, ga_inputs(tmp_path)).changes == provider_pb2.DiffResponse.DIFF_NONE
    moved = {"checklist_source": str(tmp_path / "elsewhere.json")}
    response = diff(host, GA_URN, gate_id, outputs, ga_inputs(tmp_path, **moved))
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == ["checklist_source"]
    kept = update(host, GA_URN, gate_id, outputs, ga_inputs(tmp_path))
    assert {k: kept[k] for k in GA_OUTPUT_KEYS} == {k: outputs[k] for k in GA_OUTPUT_KEYS}
