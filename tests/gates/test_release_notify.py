"""Release events reach the agent's on-call receiver: posted by the RolloutState to a real Alertmanager (Debian
`prometheus-alertmanager`) whose configuration is the tenant's AlertmanagerConfig as the Prometheus Operator
merges it.

The operator's merge (prometheus-operator pkg/alertmanager/amcfg.go, `convertRoute` and the namespace
enforcement): each AlertmanagerConfig's route becomes a child of the root route with a
`namespace="<its namespace>"` matcher added and `continue: true`, and its receivers are named
`<namespace>/<config name>/<receiver>`.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from components.tenant_alert_routing import ReceiverRef, TenantAlertRoutingArgs, routing_spec
from gates.release_notify import ALERT_NAME
from gates.rollout_state import RolloutStateProvider
from gates.stage_clock import FixedClock
from planning.release import Control
from testing.prometheus_server import binary, free_port
from tests.gates import test_release_loop as loop

NAMESPACE = loop.NAMESPACE
CONFIG_NAME = "agent-alerts"
host = loop.host
timeline = loop.timeline


def operator_merge(namespace: str, name: str, spec: dict[str, Any], sink: str) -> dict[str, Any]:
    """Alertmanager configuration from one AlertmanagerConfig, as the Prometheus Operator builds it."""

    def route(r: dict[str, Any], top: bool = False) -> dict[str, Any]:
        matchers = [f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"' for m in r.get("matchers", [])]
        out: dict[str, Any] = {"receiver": f"{namespace}/{name}/{r['receiver']}"}
        if top:
            matchers = [f'namespace="{namespace}"', *matchers]
            out["continue"] = True
        out["matchers"] = matchers
        for key, to in (("groupBy", "group_by"), ("groupWait", "group_wait"), ("repeatInterval", "repeat_interval")):
            if key in r:
                out[to] = r[key]
        if r.get("routes"):
            out["routes"] = [route(child) for child in r["routes"]]
        return out

    receivers = [{"name": "null"}] + [
        {"name": f"{namespace}/{name}/{r['name']}", "webhook_configs": [{"url": sink}]} for r in spec["receivers"]
    ]
    return {"route": {"receiver": "null", "routes": [route(spec["route"], top=True)]}, "receivers": receivers}


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("alertmanager")
    spec = routing_spec(
        TenantAlertRoutingArgs(
            namespace=NAMESPACE,
            tenant_id=loop.TENANT,
            oncall={"release-healthy": "support-oncall", "other-bot": "other-oncall"},
            tickets={"P2": "tickets", "P3": "tickets"},
            receivers=[
                ReceiverRef("support-oncall", "webhook", "support-oncall"),
                ReceiverRef("other-oncall", "webhook", "other-oncall"),
                ReceiverRef("tickets", "webhook", "tickets"),
            ],
            secret_name="alertmanager-receivers",
            labels={},
        )
    )
    sink = f"http://127.0.0.1:{free_port()}/"  # nothing listens: delivery is not what is tested
    config = workdir / "alertmanager.yml"
    config.write_text(yaml.safe_dump(operator_merge(NAMESPACE, CONFIG_NAME, spec, sink)))
    port = free_port()
    log = (workdir / "alertmanager.log").open("ab")
    process = subprocess.Popen(
        [
            binary("prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"alertmanager exited: {(workdir / 'alertmanager.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("alertmanager not ready after 30 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


class NotifyingEngine(loop.Engine):
    def __init__(self, host, url: str, agent_id: str, alertmanager_url: str):
        super().__init__(host, url, agent_id)
        self.alertmanager_url = alertmanager_url

    def news(self, minute: float) -> dict[str, Any]:
        news = super().news(minute)
        news["notify"] = {"alertmanager_url": self.alertmanager_url, "namespace": NAMESPACE}
        return news


def received(alertmanager: str) -> list[dict[str, Any]]:
    alerts = requests.get(f"{alertmanager}/api/v2/alerts", timeout=5).json()
    return [a for a in alerts if a["labels"]["alertname"] == ALERT_NAME]


def test_every_stage_change_hold_and_abort_goes_to_the_agents_oncall_receiver(host, timeline, alertmanager) -> None:
    engine = NotifyingEngine(host, timeline.url, "release-healthy", alertmanager)
    engine.run(0, 30)
    engine.control = Control("abort", "alice@example.com", "2025-03-03T08:32:00Z", "customer report")
    engine.evaluate(35)
    assert engine.state["notify_status"] == "ok"
    alerts = received(alertmanager)
    events = sorted((a["labels"]["event"], a["labels"]["stage"]) for a in alerts)
    assert ("started", "0") in events and ("stage", "1") in events and ("abort", "1") in events
    assert any(e == "hold" for e, _ in events), events
    for a in alerts:
        assert [r["name"] for r in a["receivers"]] == [f"{NAMESPACE}/{CONFIG_NAME}/support-oncall"], a["labels"]
    abort = next(a for a in alerts if a["labels"]["event"] == "abort")
    assert "by alice@example.com" in abort["annotations"]["summary"]
    stage = next(a for a in alerts if a["labels"]["event"] == "stage")
    assert "every check passed" in stage["annotations"]["report"] or "PASS" in stage["annotations"]["report"]


def test_an_unreachable_alertmanager_is_recorded_and_the_release_goes_on(host, timeline) -> None:
    engine = NotifyingEngine(host, timeline.url, "release-healthy", f"http://127.0.0.1:{free_port()}")
    seen = engine.run(0, 30)
    assert int(seen[-1][1]["weight"]) == 25
    assert engine.state["notify_status"].startswith("error: ConnectionError")


def test_the_provider_posts_nothing_without_an_alertmanager() -> None:
    provider = RolloutStateProvider(FixedClock("2025-03-03T08:00:00Z"))
    props = loop.Engine(None, "http://127.0.0.1:9", "x").news(0)
    props.pop("__provider")
    assert provider.create(props).outs["notify_status"] == ""
