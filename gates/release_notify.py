"""Release events as Alertmanager alerts: every stage change, hold reason change, fail, abort and timeout of
an automatic release reaches the agent's on-call receiver through the tenant's AlertmanagerConfig.

Posted to Alertmanager's API (`POST /api/v2/alerts`, the same call Prometheus makes), one alert per event
with the gate's report. A notification that cannot be delivered is recorded in the rollout's state
(`notify_status`) and never fails the `up` or changes the release.
"""

from __future__ import annotations

from typing import Any

import requests

from planning.release import Event

ALERT_NAME = "AgentRelease"
PAGING_EVENTS = frozenset({"fail", "timed_out"})
"""P1: the release needs a person. Everything else is P3, still to the on-call receiver (see the route)."""
REPORT_LIMIT = 8000
TIMEOUT_SECONDS = 5.0


def alerts(
    events: list[Event], agent_id: str, tenant_id: str, namespace: str, version: str, report: str
) -> list[dict[str, Any]]:
    out = []
    for e in events:
        out.append(
            {
                "labels": {
                    "alertname": ALERT_NAME,
                    "agent_id": agent_id,
                    "tenant_id": tenant_id,
                    "namespace": namespace,
                    "version": version,
                    "event": e.event,
                    "stage": str(e.stage),
                    "event_at": e.at,
                    "severity": "P1" if e.event in PAGING_EVENTS else "P3",
                },
                "annotations": {
                    "summary": f"{agent_id} {version} in {tenant_id}: {e.event} at stage {e.stage} ({e.weight}%)"
                    + (f" by {e.by}" if e.by else ""),
                    "description": e.reason,
                    "report": report[:REPORT_LIMIT],
                },
                # No endsAt: Alertmanager resolves it after its resolve_timeout, counted from receipt.
                "startsAt": e.at,
            }
        )
    return out


def post(url: str, batch: list[dict[str, Any]]) -> str:
    """ "ok", or what went wrong; never raises."""
    if not batch:
        return "ok"
    try:
        response = requests.post(f"{url.rstrip('/')}/api/v2/alerts", json=batch, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return f"error: {type(exc).__name__}: {exc}"[:300]
    if response.status_code >= 300:
        return f"error: Alertmanager answered {response.status_code}: {response.text[:200]}"
    return "ok"
