"""Prometheus instant and range queries for the gates: bounded in time, retried when transient, never guessing.

Every failure (DNS, TLS, refused connection, HTTP 4xx/5xx, malformed JSON, an empty or NaN result, the
deadline) raises `QueryError` with a reason a person can act on; the caller turns it into an `error`
verdict. Credentials are read when a client is made, from the environment or the stack's secret config,
and live only in that client's session: never in resource inputs, outputs or the pickled provider.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry

from gates.transport import Access, TransportError, resolve

TOKEN_ENV = "AGENT_PLATFORM_PROMETHEUS_TOKEN"
USERNAME_ENV = "AGENT_PLATFORM_PROMETHEUS_USERNAME"
PASSWORD_ENV = "AGENT_PLATFORM_PROMETHEUS_PASSWORD"
MAX_BODY_BYTES = 4 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class QueryError(Exception):
    """The query gave no usable number; `reason` says why in one line."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class NoDataError(QueryError):
    """The query succeeded but matched no series: a distinct fault, and never a zero."""


@dataclass(frozen=True)
class Credentials:
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, fallback: Credentials | None = None) -> Credentials:
        """The environment wins over stack config, so an operator can override a stored secret for one run."""
        env = os.environ if env is None else env
        fallback = fallback or cls()
        if env.get(TOKEN_ENV):
            return cls(token=env[TOKEN_ENV])
        if env.get(USERNAME_ENV):
            return cls(username=env[USERNAME_ENV], password=env.get(PASSWORD_ENV, ""))
        return fallback

    @property
    def kind(self) -> str:
        return "bearer token" if self.token else "basic auth" if self.username else "no credentials"


@dataclass(frozen=True)
class Limits:
    query_timeout_seconds: float = 10.0
    deadline_seconds: float = 60.0
    retries: int = 3


class PrometheusClient:
    """One session for all of a gate's queries, so retries, auth and the total deadline are shared."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        limits: Limits,
        monotonic: Callable[[], float] = time.monotonic,
        access: Access = "auto",
        region: str | None = None,
    ):
        # The deadline counts from here: finding the transport's credentials is part of the evaluation.
        self._deadline = monotonic() + limits.deadline_seconds
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise QueryError(f"Prometheus URL {url!r} is not an http(s) URL")
        try:
            transport = resolve(url, access, region)
        except TransportError as exc:
            raise QueryError(f"cannot reach Prometheus at {url}: {exc}") from None
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.limits = limits
        self._monotonic = monotonic
        self._session = requests.Session()
        retry = Retry(
            total=limits.retries,
            backoff_factor=0.2,
            backoff_max=2.0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        self._connections: weakref.WeakSet = weakref.WeakSet()
        adapter = _TrackingAdapter(self._connections, max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        if transport is not None:
            # The API server or AWS authenticates the request; Prometheus's own credentials cannot pass.
            self.url = transport.apply(self._session)
            self.credentials = Credentials()
        elif credentials.token:
            self._session.headers["Authorization"] = f"Bearer {credentials.token}"
        elif credentials.username:
            self._session.auth = (credentials.username, credentials.password or "")
        self._refused_hint = (
            f"{transport.kind} refused the runner's identity: check its kubeconfig user's RBAC (get services/proxy) "
            "or its IAM role (aps:QueryMetrics)"
            if transport is not None
            else f"set {TOKEN_ENV} (or {USERNAME_ENV}/{PASSWORD_ENV}) or the stack's gates.prometheus secrets"
        )

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._session.close()

    def _attempt_seconds(self) -> float:
        """Every attempt must fit in what is left, so retries can never stretch the deadline."""
        remaining = self._deadline - self._monotonic()
        if remaining <= 0:
            raise QueryError(f"total deadline of {self.limits.deadline_seconds:g}s used up before this query")
        return min(self.limits.query_timeout_seconds, remaining / (self.limits.retries + 1))

    def query(self, promql: str, at: datetime) -> float:
        """The single value of an instant query evaluated at `at`."""
        attempt = self._attempt_seconds()
        params = {"query": promql, "time": f"{at.timestamp():.3f}", "timeout": f"{max(1, int(attempt * 1000))}ms"}
        body = self._get("/api/v1/query", params, attempt)
        return _single_value(body, promql)

    def query_range(self, promql: str, start: datetime, end: datetime, step_seconds: int) -> dict[float, float]:
        """The one series of a range query, as {unix time: value}; steps without a sample are absent."""
        attempt = self._attempt_seconds()
        params = {
            "query": promql,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step_seconds}s",
            "timeout": f"{max(1, int(attempt * 1000))}ms",
        }
        body = self._get("/api/v1/query_range", params, attempt)
        values = _series_values(body, promql)
        first, last = start.timestamp(), end.timestamp()
        for at in values:
            steps = (at - first) / step_seconds
            if not first - 1e-3 <= at <= last + 1e-3 or abs(steps - round(steps)) * step_seconds > 1e-3:
                raise QueryError(f"sample at {at:.3f}, not a {step_seconds}s step from {first:.3f}, for {promql}")
        return values

    def _get(self, path: str, params: dict[str, str], attempt: float) -> bytes:
        url = self.url + path
        status, body = self._within_deadline(lambda: self._fetch(url, params, attempt))
        if status in (401, 403):
            raise QueryError(f"HTTP {status} from {url} with {self.credentials.kind}; {self._refused_hint}")
        if status >= 400:
            raise QueryError(f"HTTP {status} from {url}: {_error_text(body)}")
        return body

    def _within_deadline(self, fetch: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        """Run one request (its retries, backoffs and every byte) and cut it at the gate's deadline.

        Socket timeouts bound each read, not the answer: a server trickling a byte at a time, headers
        included, never trips them. So the request runs on a worker thread the caller waits for until the
        deadline; past it, the connection is shut down (which ends the worker's blocked read) and the
        query is an error naming the deadline.
        """
        remaining = self._deadline - self._monotonic()
        if remaining <= 0:
            raise QueryError(f"total deadline of {self.limits.deadline_seconds:g}s used up before this query")
        outcome: list[tuple[int, bytes] | BaseException] = []

        def work() -> None:
            try:
                outcome.append(fetch())
            except BaseException as exc:  # handed to the waiting thread as it is
                outcome.append(exc)

        worker = threading.Thread(target=work, name="prometheus-query", daemon=True)
        worker.start()
        worker.join(remaining)
        if worker.is_alive() or not outcome:
            self._cut()
            raise QueryError(
                f"total deadline of {self.limits.deadline_seconds:g}s reached while {self.url} was still answering"
            )
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _cut(self) -> None:
        for connection in list(self._connections):
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _fetch(self, url: str, params: dict[str, str], attempt: float) -> tuple[int, bytes]:
        """One GET with urllib3's retries; (status, body) or a `QueryError` naming the fault."""
        per_attempt = (
            f"{self.url} did not answer within {attempt:.1f}s, the limit per attempt "
            f"({self.limits.retries + 1} attempts share the {self.limits.deadline_seconds:g}s deadline; "
            f"query timeout {self.limits.query_timeout_seconds:g}s)"
        )
        try:
            response = self._session.get(url, params=params, timeout=(min(attempt, 5.0), attempt), stream=True)
            with response:
                return response.status_code, _read_bounded(response)
        except requests.exceptions.SSLError as exc:
            raise QueryError(f"TLS error talking to {self.url}: {_root(exc)}") from None
        except requests.exceptions.Timeout:
            raise QueryError(per_attempt) from None
        except requests.exceptions.ConnectionError as exc:
            if "timed out" in str(exc):  # a read timeout that exhausted the retries
                raise QueryError(per_attempt) from None
            raise QueryError(f"cannot reach {self.url}: {_connection_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise QueryError(f"request to {self.url} failed: {_root(exc)}") from None


def _read_bounded(response: requests.Response) -> bytes:
    """Read the body up to its size limit; the deadline around the whole request bounds its time."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise QueryError(f"answer from {response.url} is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _TrackingAdapter(HTTPAdapter):
    """Records every connection its pools open, so the deadline can shut one down in the middle of a read."""

    def __init__(self, connections: weakref.WeakSet, **kwargs: Any):
        self._connections = connections
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        pools = self.poolmanager.pool_classes_by_scheme
        self.poolmanager.pool_classes_by_scheme = {
            scheme: _tracking(pool, self._connections) for scheme, pool in pools.items()
        }


def _tracking(pool: type[HTTPConnectionPool], connections: weakref.WeakSet) -> type[HTTPConnectionPool]:
    class TrackingPool(pool):  # type: ignore[misc, valid-type]
        def _new_conn(self) -> Any:
            connection = super()._new_conn()
            connections.add(connection)
            return connection

    return TrackingPool


def _single_value(body: bytes, promql: str) -> float:
    data = _data(body, promql)
    kind, result = data.get("resultType"), data.get("result")
    sample: Any  # a [time, "value"] pair when well formed; anything else fails below
    if kind == "scalar":
        sample = result
    elif kind == "vector" and isinstance(result, list):
        if not result:
            raise NoDataError(f"no series for {promql}")
        if len(result) > 1:
            raise QueryError(f"{len(result)} series for {promql}; expected one")
        sample = result[0].get("value") if isinstance(result[0], dict) else None
    else:
        raise QueryError(f"unexpected result type {kind!r} for {promql}")
    try:
        value = float(sample[1])
    except (TypeError, ValueError, IndexError):
        raise QueryError(f"unreadable sample {sample!r} for {promql}") from None
    if not math.isfinite(value):
        raise NoDataError(f"{_shown(value)} for {promql} (no samples in the window)")
    if value < 0:
        raise QueryError(f"negative count {value} for {promql}")
    return value


def _series_values(body: bytes, promql: str) -> dict[float, float]:
    data = _data(body, promql)
    result = data.get("result")
    if data.get("resultType") != "matrix" or not isinstance(result, list):
        raise QueryError(f"unexpected result type {data.get('resultType')!r} for {promql}")
    if not result:
        raise NoDataError(f"no series for {promql}")
    if len(result) > 1:
        raise QueryError(f"{len(result)} series for {promql}; expected one")
    values = result[0].get("values") if isinstance(result[0], dict) else None
    out: dict[float, float] = {}
    samples: list[Any] = values if isinstance(values, list) else [None]
    for sample in samples:
        try:
            at, value = float(sample[0]), float(sample[1])
        except (TypeError, ValueError, IndexError):
            raise QueryError(f"unreadable sample {sample!r} for {promql}") from None
        if not math.isfinite(value):
            # A step without samples is absent from a range result, never NaN: NaN is not a count.
            raise QueryError(f"{_shown(value)} at {at:.3f} for {promql}; a count per unit of time must be a number")
        if value < 0:
            raise QueryError(f"negative count {value} for {promql}")
        out[at] = value
    return out


def _shown(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:+}".replace("inf", "Inf")


def _data(body: bytes, promql: str) -> dict:
    """The `data` object of a successful answer."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise QueryError(f"malformed JSON from Prometheus for {promql}: {body[:80]!r}") from None
    if not isinstance(payload, dict) or payload.get("status") != "success" or not isinstance(payload.get("data"), dict):
        raise QueryError(f"Prometheus answered {_error_text(body)} for {promql}")
    return payload["data"]


def _error_text(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return body[:120].decode("utf-8", "replace").strip() or "an empty body"
    if isinstance(payload, dict) and payload.get("error"):
        return f"{payload.get('errorType', 'error')}: {payload['error']}"
    return f"status {payload.get('status') if isinstance(payload, dict) else payload!r}"


def _root(exc: BaseException) -> str:
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return str(exc) or type(exc).__name__


def _connection_reason(exc: requests.exceptions.ConnectionError) -> str:
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text or "nodename nor servname" in text:
        return f"DNS lookup failed ({_root(exc)})"
    if "Connection refused" in text:
        return "connection refused"
    return _root(exc)
