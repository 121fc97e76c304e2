"""GA evidence: where it may come from, how it is read, and a command that saves it with its time.

    python -m gates.ga_evidence \\
        'http://support-bot.acme-prod.svc.cluster.local:8000/api/v1/agent-runtime/ga-readiness?tenant_id=acme' \\
        evidence/support-bot/acme.json

A file's modification time proves nothing (a clone sets it), so a saved document carries `fetched_at`
from the runtime's `Date` header (or this machine's clock when it sends none).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from gates.stage_clock import format_time, parse_time

TIMESTAMP_FIELDS = ("fetched_at", "recorded_at", "timestamp")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local", ".cluster.local")
TIMEOUT = (3.0, 10.0)


class EvidenceError(Exception):
    """The evidence could not be read; the message names the source and what is wrong."""


@dataclass(frozen=True)
class Evidence:
    document: Any
    observed_at: datetime | None
    origin: str


def is_url(source: str) -> bool:
    return "://" in source


def check_source(source: str) -> None:
    """HTTPS anywhere; plain HTTP only where nobody else is on the wire (loopback, cluster-local)."""
    if not is_url(source):
        return
    parts = urlsplit(source)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and (host in LOOPBACK_HOSTS or host.endswith(CLUSTER_SUFFIXES)):
        return
    raise EvidenceError(f"{source}: only HTTPS, or plain HTTP to a loopback or cluster-local host, is allowed")


def load(source: str, root: Path) -> Evidence:
    check_source(source)
    if is_url(source):
        return _from_url(source)
    path = Path(source) if Path(source).is_absolute() else root / source
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise EvidenceError(f"{source}: missing file") from None
    except OSError as exc:
        raise EvidenceError(f"{source}: cannot read ({exc.strerror})") from None
    document = _parse(text, source)
    return Evidence(document, _stamped(document, source), source)


def _session() -> requests.Session:
    session = requests.Session()
    retry = Retry(total=2, backoff_factor=0.2, status_forcelist=(502, 503, 504), allowed_methods=frozenset({"GET"}))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _from_url(url: str) -> Evidence:
    try:
        with _session() as session:
            response = session.get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise EvidenceError(f"{url}: unreachable ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise EvidenceError(f"{url}: HTTP {response.status_code}")
    document = _parse(response.text, url)
    observed = _stamped(document, url)
    if observed is None:
        header = response.headers.get("Last-Modified") or response.headers.get("Date")
        observed = parsedate_to_datetime(header).astimezone(UTC) if header else None
    return Evidence(document, observed, url)


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EvidenceError(f"{source}: malformed JSON ({exc})") from None


def _stamped(document: Any, source: str) -> datetime | None:
    if not isinstance(document, dict):
        return None
    for name in TIMESTAMP_FIELDS:
        if name in document:
            try:
                return parse_time(str(document[name]))
            except ValueError:
                raise EvidenceError(f"{source}: {name} {document[name]!r} is not an ISO 8601 time with zone") from None
    return None


def fetch(url: str, out: Path) -> dict[str, Any]:
    evidence = _from_url(url)
    if not isinstance(evidence.document, dict):
        raise EvidenceError(f"{url}: expected a JSON object")
    stamped = {**evidence.document, "fetched_at": format_time(evidence.observed_at or datetime.now(UTC))}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n")
    return stamped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.ga_evidence", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the runtime's ga-readiness URL for one tenant")
    parser.add_argument("out", type=Path, help="where to save it, e.g. evidence/<agent>/<tenant>.json")
    args = parser.parse_args(argv)
    try:
        check_source(args.url)
        stamped = fetch(args.url, args.out)
    except EvidenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"saved {args.out} (fetched_at {stamped['fetched_at']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
