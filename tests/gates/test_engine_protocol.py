"""The SLO gate through the real dynamic-provider host, called over gRPC the way the engine calls it."""

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
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from gates.prometheus import TOKEN_ENV
from gates.slo_gate import SloGateProvider
from gates.stage_clock import FixedClock, format_time
from tests.gates.conftest import free_port
from tests.gates.scenarios import EVALUATED_AT
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


def test_an_unrelated_change_keeps_the_verdict_without_querying(host, prometheus) -> None:
    gate_id, outputs = create(host, inputs(prometheus.url))
    # Nothing listens here: an evaluation would be an `error` and fail the call.
    moved = inputs(f"http://127.0.0.1:{free_port()}") | {"query_timeout_seconds": 3.0}
    diff = host.Diff(provider_pb2.DiffRequest(id=gate_id, urn=URN, olds=to_struct(outputs), news=to_struct(moved)))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    updated = host.Update(
        provider_pb2.UpdateRequest(id=gate_id, urn=URN, olds=to_struct(outputs), news=to_struct(moved))
    )
    kept = from_struct(updated.properties)
    assert {k: kept[k] for k in ("verdict", "report", "checks", "passed_at")} == {
        k: outputs[k] for k in ("verdict", "report", "checks", "passed_at")
    }
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
