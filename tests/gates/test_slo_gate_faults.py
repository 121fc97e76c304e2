"""Every fault between the gate and its numbers is `error`, with a reason, within the deadline."""

from __future__ import annotations

import time

import pytest

from gates.prometheus import TOKEN_ENV, Credentials
from gates.slo_gate import evaluate
from testing.prometheus_server import PrometheusServer, free_port
from tests.gates.fake_server import Behaviour, serve
from tests.gates.scenarios import EVALUATED_AT, SCENARIOS, openmetrics
from tests.gates.test_slo_gate_scenarios import spec_for

SUCCESS = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"100"]}]}}'


def matrix(values: str) -> bytes:
    series = b'{"metric":{},"values":[%s]}' % values.encode()
    return b'{"status":"success","data":{"resultType":"matrix","result":[%s]}}' % series


# Two units of the 40-minute window ending at EVALUATED_AT (1736160000), on its 60-second steps.
RANGE_SUCCESS = matrix('[1736157660,"10"],[1736157720,"10"]')


def evaluate_at(url: str, credentials: Credentials | None = None, **overrides: object):
    return evaluate(spec_for(url, "healthy", **overrides), EVALUATED_AT, credentials or Credentials())


def test_prometheus_stopped_is_an_error(tmp_path) -> None:
    server = PrometheusServer(tmp_path, openmetrics(SCENARIOS[:1]))
    server.start()
    assert evaluate_at(server.url).verdict == "pass"
    server.stop()
    decision = evaluate_at(server.url)
    assert decision.verdict == "error"
    assert "connection refused" in decision.reason


DEADLINE = 1.5  # seconds: short, so the fault tests stay fast


@pytest.mark.parametrize(
    ("retries", "reason"),
    [
        pytest.param(2, f"total deadline of {DEADLINE:g}s reached", id="retries and backoff reach the deadline"),
        pytest.param(0, "did not answer within 0.5s, the limit per attempt (1 attempts", id="one attempt times out"),
    ],
)
def test_a_slow_server_is_cut_off_at_the_deadline(retries: int, reason: str) -> None:
    with serve(Behaviour(body=SUCCESS, delay_seconds=5)) as url:
        started = time.monotonic()
        decision = evaluate_at(url, query_timeout_seconds=0.5, deadline_seconds=DEADLINE, retries=retries)
        elapsed = time.monotonic() - started
    assert decision.verdict == "error"
    assert reason in decision.reason, decision.reason
    assert elapsed <= DEADLINE * 1.1


@pytest.mark.parametrize(
    "path",
    [pytest.param("/api/v1/query", id="every answer"), pytest.param("/api/v1/query_range", id="range answers")],
)
def test_a_server_trickling_its_answer_is_cut_off_at_the_deadline(path: str) -> None:
    """One byte every 20 ms, status line and headers included: no read ever times out, the deadline must."""
    behaviour = Behaviour(body=SUCCESS, range_body=RANGE_SUCCESS, trickle_seconds=0.02, trickle_path=path)
    with serve(behaviour) as url:
        started = time.monotonic()
        decision = evaluate_at(url, query_timeout_seconds=1, deadline_seconds=DEADLINE, retries=2)
        elapsed = time.monotonic() - started
    assert decision.verdict == "error"
    assert f"total deadline of {DEADLINE:g}s reached while {url} was still answering" in decision.reason
    assert elapsed <= DEADLINE * 1.1, elapsed


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        pytest.param(Behaviour(status=500, body=b"boom"), "HTTP 500", id="HTTP 500 after bounded retries"),
        pytest.param(Behaviour(body=b"<html>not json"), "malformed JSON", id="invalid JSON"),
        pytest.param(Behaviour(), "no series", id="empty result"),
        pytest.param(
            Behaviour(
                body=b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}'
            ),
            "NaN for",
            id="NaN value",
        ),
        pytest.param(Behaviour(status=401, require_token="s3cr3t"), TOKEN_ENV, id="401 without credentials"),
        pytest.param(
            Behaviour(status=400, body=b'{"status":"error","errorType":"bad_data","error":"parse error"}'),
            "bad_data: parse error",
            id="HTTP 400 names Prometheus' error",
        ),
    ],
)
def test_a_faulty_answer_is_an_error(behaviour: Behaviour, reason: str) -> None:
    with serve(behaviour) as url:
        decision = evaluate_at(url, retries=1)
    assert decision.verdict == "error"
    assert reason in decision.report("gate")
    assert len(behaviour.requests) <= 2 * 20 * 2  # at most (retries + 1) per query, twenty queries


@pytest.mark.parametrize(
    ("range_body", "reason"),
    [
        pytest.param(SUCCESS, "unexpected result type 'vector'", id="instant answer to a range query"),
        pytest.param(b'{"status":"success","data":{"resultType":"matrix","result":[]}}', "no series", id="empty"),
        pytest.param(
            b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"-3"]]}]}}',
            "negative count",
            id="negative count",
        ),
        pytest.param(b'{"status":"success","data":{"resultType":"matrix"', "malformed JSON", id="truncated"),
        pytest.param(matrix('[1736157660,"10"],[1736157720,"NaN"]'), "NaN at 1736157720.000", id="NaN in one unit"),
        pytest.param(matrix('[1736157660,"+Inf"]'), "+Inf at 1736157660.000", id="Inf in one unit"),
        pytest.param(matrix('[1736157690,"10"]'), "not a 60s step", id="a sample between steps"),
        pytest.param(matrix('[1736163600,"10"]'), "not a 60s step", id="a sample after the end"),
    ],
)
def test_a_faulty_answer_per_unit_of_time_is_an_error(range_body: bytes, reason: str) -> None:
    """The per-minute counts that detect bursts fail closed like the totals: never read as independent."""
    with serve(Behaviour(body=SUCCESS, range_body=range_body)) as url:
        decision = evaluate_at(url, retries=0)
    assert decision.verdict == "error"
    assert reason in decision.report("gate")


def test_the_token_comes_from_the_environment_at_evaluation(monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s3cr3t")
    behaviour = Behaviour(body=SUCCESS, require_token="s3cr3t", range_body=RANGE_SUCCESS)
    with serve(behaviour) as url:
        decision = evaluate_at(url, credentials=Credentials.resolve())
    assert decision.verdict != "error", decision.report("gate")
    assert behaviour.requests[0]["Authorization"] == "Bearer s3cr3t"


def test_dns_failure_is_an_error() -> None:
    decision = evaluate_at("http://prometheus.does-not-exist.invalid:9090", retries=0)
    assert decision.verdict == "error"
    assert "DNS lookup failed" in decision.reason


def test_tls_error_is_an_error() -> None:
    with serve(Behaviour(body=SUCCESS)) as url:
        decision = evaluate_at(url.replace("http://", "https://"), retries=0)
    assert decision.verdict == "error"
    assert "TLS error" in decision.reason


def test_nothing_listening_is_an_error() -> None:
    decision = evaluate_at(f"http://127.0.0.1:{free_port()}", retries=0)
    assert decision.verdict == "error"
    assert "cannot reach" in decision.reason
