"""SloGate: a dynamic resource whose creation is the decision to promote a canary to its next stage.

Interface (what CanaryRollout uses)
-----------------------------------
    gate = SloGate(f"{name}-gate-{stage}", SloGateArgs(
        namespace="acme-prod", agent_id="support-bot", tenant_id="acme",
        stable_version="1.4.2", canary_version="1.5.0",
        stage=2, weight=25,                         # the stage being promoted to, and its canary weight
        stage_started_at=stage_clock.applied_at,    # StageClock output: start of the evidence window
        min_duration_seconds=600, max_duration_seconds=2400,
        criteria=settings.gates.slo, policy="rollback", mode="canary",
        error_statuses=settings.names.error_statuses, labels=settings.names.metric_labels,
        connection=settings.gates.prometheus,       # url, timeouts, retries; its secrets never become inputs
    ), opts)

Outputs (also what a mock's `new_resource` must return for this type, `pulumi-python:dynamic/agent-platform:SloGate`):
    verdict       "pass" | "fail" (only with policy "rollback"); other verdicts never reach the state
    report        multi-line text: one summary line, then each check with its PromQL
    checks        list of {name, verdict, reason, threshold, canary, stable, statistic, p_healthy,
                  p_regression, bounds, more_requests, dispersion, queries, note}
    passed_at     ISO 8601 UTC time of a `pass` from the gate's clock ("" otherwise): the `promoted-at`
    evaluated_at  ISO 8601 UTC time of the evaluation

What each verdict does to the `up`: `pass` creates the resource (apply the next stage). `fail` under
policy "rollback" creates it with verdict "fail" (set the canary weight to 0). `fail` under "block",
`inconclusive` and `error` raise `GateBlockedError` with the report: the `up` fails, nothing is written to the
state, and the next `up` evaluates again. An `error` (Prometheus down, no series, ...) never rolls back.

Lifecycle: `diff` replaces the gate (a new evaluation) when anything the decision depends on changes
(versions, stage, weight, window start, durations, criteria, policy, mode, selectors, label names);
changing only the URL, timeouts or retries is no change: the verdict stands and nothing is queried.
Credentials are read at evaluation from AGENT_PLATFORM_PROMETHEUS_TOKEN (or _USERNAME/_PASSWORD), else
from the stack's secret config `agent-platform:gates.prometheus`; they are never inputs or outputs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pydantic import Field, ValidationError, field_validator, model_validator

from conventions.metrics import DEFAULT_ERROR_STATUSES
from gates.agent_checks import AgentTrack, decide_with_agent, enabled_checks
from gates.agent_evidence import measure_agent
from gates.decision import Check, Decision, Proportion, Timing, Track, error, with_note
from gates.pickling import DynamicResource
from gates.prometheus import Credentials, Limits, PrometheusClient, QueryError
from gates.queries import Selector, TrackQueries, track_queries
from gates.stage_clock import Clock, format_time, parse_time, system_clock
from settings.agents import Dimension
from settings.base import DnsLabel, Settings
from settings.gates import (
    GATE_UNIT_SECONDS,
    AgentGateChecks,
    PrometheusAccess,
    PrometheusConnection,
    SloGateCriteria,
)
from settings.names import MetricLabels

SLO_GATE_TYPE = "pulumi-python:dynamic/agent-platform:SloGate"
CONNECTION_KEYS = frozenset(
    {"prometheus_url", "prometheus_access", "prometheus_region", "query_timeout_seconds", "deadline_seconds", "retries"}
)
OUTPUT_KEYS = ("verdict", "report", "checks", "passed_at", "evaluated_at")
CONFIG_KEY = "agent-platform:gates"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN: a value known only at `up`
BLUE_GREEN_NOTE = (
    "weaker: blue measured in the window before the switch (different hours, different traffic), "
    "not side by side with green"
)


class GateSpec(Settings):
    """The gate's inputs, validated; the same model serves `check`, `create` and the gate CLI."""

    prometheus_url: str = Field(pattern=r"^https?://[^\s/]+")
    prometheus_access: PrometheusAccess = "auto"
    prometheus_region: str | None = None
    namespace: DnsLabel
    agent_id: DnsLabel
    tenant_id: str | None = None
    stable_version: str = Field(min_length=1)
    canary_version: str = Field(min_length=1)
    stage: int = Field(ge=0)
    weight: int = Field(ge=0, le=100)
    stage_started_at: str
    min_duration_seconds: float = Field(ge=0)
    max_duration_seconds: float = Field(gt=0)
    criteria: SloGateCriteria = SloGateCriteria()
    agent_checks: AgentGateChecks = AgentGateChecks()
    dimensions: list[Dimension] = Field(default_factory=list, description="What the canary changes.")
    policy: Literal["rollback", "block"] = "rollback"
    mode: Literal["canary", "blue_green"] = "canary"
    error_statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_ERROR_STATUSES), min_length=1)
    labels: MetricLabels = MetricLabels()
    query_timeout_seconds: float = Field(10.0, gt=0)
    deadline_seconds: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=10)

    @field_validator("stage_started_at")
    @classmethod
    def _iso_time(cls, value: str) -> str:
        parse_time(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> GateSpec:
        if self.stable_version == self.canary_version:
            raise ValueError(f"canary_version {self.canary_version!r} is the stable version; nothing to compare")
        if self.max_duration_seconds < self.min_duration_seconds:
            raise ValueError(
                f"max_duration_seconds {self.max_duration_seconds:g} is below "
                f"min_duration_seconds {self.min_duration_seconds:g}"
            )
        return self

    @property
    def title(self) -> str:
        changes = f" ({', '.join(self.dimensions)} changed)" if self.dimensions else ""
        return f"SLO gate {self.agent_id}/{self.tenant_id or self.namespace} {self.weight}%{changes}"

    def limits(self) -> Limits:
        return Limits(self.query_timeout_seconds, self.deadline_seconds, self.retries)


class GateBlockedError(Exception):
    """The gate did not let the rollout proceed; the message is the report."""


def evaluate(spec: GateSpec, now: datetime, credentials: Credentials) -> Decision:
    """Query both tracks over the stage so far, in total and per minute, and decide.

    Never raises for a fault: that is `error`. The per-minute counts only weigh the totals' evidence
    (bursty failures count for less); without them the gate would not know, so their absence is a fault too.
    """
    started = parse_time(spec.stage_started_at)
    elapsed = (now - started).total_seconds()
    timing = Timing(elapsed, spec.min_duration_seconds, spec.max_duration_seconds)
    if elapsed < 1:
        return Decision("error", f"stage began at {spec.stage_started_at}, not before the evaluation time {now}")
    window = math.ceil(elapsed)
    unit = GATE_UNIT_SECONDS
    canary_queries = _queries(spec, spec.canary_version, window), _queries(spec, spec.canary_version, unit)
    stable_queries = _queries(spec, spec.stable_version, window), _queries(spec, spec.stable_version, unit)
    # Blue-green: after the switch only green serves, so blue is read from the same span before it.
    stable_at = started if spec.mode == "blue_green" else now
    try:
        access, region = spec.prometheus_access, spec.prometheus_region
        client = PrometheusClient(spec.prometheus_url, credentials, spec.limits(), access=access, region=region)
    except QueryError as exc:
        return Decision("error", exc.reason)
    versus = "blue" if spec.mode == "blue_green" else "stable"
    with client:
        canary = _measure(client, canary_queries, now, window, unit, "canary")
        stable = _measure(client, stable_queries, stable_at, window, unit, versus)
        agent = [
            measure_agent(client, _selector(spec, version), spec.agent_checks, track, at, window, unit, name)
            if isinstance(track, Track)
            else AgentTrack()
            for version, track, at, name in (
                (spec.canary_version, canary, now, "canary"),
                (spec.stable_version, stable, stable_at, versus),
            )
        ]
    faults = [c for c in (canary, stable, *agent) if isinstance(c, Check)]
    if faults or not isinstance(canary, Track) or not isinstance(stable, Track):
        return Decision("error", "the gate could not evaluate: " + "; ".join(c.reason for c in faults), tuple(faults))
    canary_agent, stable_agent = (a if isinstance(a, AgentTrack) else AgentTrack() for a in agent)
    decision = decide_with_agent(
        canary, stable, canary_agent, stable_agent, spec.criteria, spec.agent_checks, timing, versus
    )
    if spec.mode == "blue_green":
        return with_note(decision, {"error_ratio", "latency_p95", *enabled_checks(spec.agent_checks)}, BLUE_GREEN_NOTE)
    return decision


def _selector(spec: GateSpec, version: str) -> Selector:
    return Selector(spec.namespace, spec.agent_id, version, spec.tenant_id, spec.labels.model_dump())


def _queries(spec: GateSpec, version: str, window: int) -> TrackQueries:
    selector = _selector(spec, version)
    slo = spec.criteria
    return track_queries(
        selector, window, spec.error_statuses, slo.slow_threshold_seconds, slo.very_slow_threshold_seconds
    )


def _measure(
    client: PrometheusClient,
    queries: tuple[TrackQueries, TrackQueries],
    at: datetime,
    window: int,
    unit: int,
    track: str,
) -> Track | Check:
    """The window's totals (instant queries) and the same counts per unit of time (range queries)."""
    totals, per_unit = queries
    # Whole units back from `at`; under one unit still gives one, which is too few to decide on.
    count = max(1, window // unit)
    first = at - timedelta(seconds=unit * (count - 1))
    try:
        values = {name: round(client.query(promql, at)) for name, promql in vars(totals).items()}
        series = {name: client.query_range(promql, first, at, unit) for name, promql in vars(per_unit).items()}
    except QueryError as exc:
        return error(f"{track}_data", f"{track}: {exc.reason}")
    # Every step, so canary and stable units stay paired; a step without samples is a unit without requests.
    steps = [round(first.timestamp() + unit * k, 3) for k in range(count)]

    by_time = {name: {round(t, 3): v for t, v in points.items()} for name, points in series.items()}

    def counts(name: str) -> list[int]:
        return [round(by_time[name].get(t, 0.0)) for t in steps]

    latency = counts("latency_total")

    def slower_than(faster: str) -> Proportion:
        """Requests slower than a bucket boundary: all observations but those within it."""
        return _proportion(
            values["latency_total"] - values[faster],
            values["latency_total"],
            getattr(totals, faster),
            totals.latency_total,
            [n - f for n, f in zip(latency, counts(faster), strict=True)],
            latency,
        )

    errors = _proportion(
        values["errors"], values["requests"], totals.errors, totals.requests, counts("errors"), counts("requests")
    )
    return Track(errors, slower_than("faster_than_slow"), slower_than("faster_than_very_slow"))


def _proportion(
    events: int, total: int, events_query: str, total_query: str, unit_events: list[int], unit_totals: list[int]
) -> Proportion:
    """`increase()` extrapolates each series on its own, so nested counts can cross by a request or two."""
    units = tuple((min(max(0, e), n), n) for e, n in zip(unit_events, unit_totals, strict=True))
    return Proportion(min(max(0, events), total), total, events_query, total_query, units)


def credentials_from_config(config: Any) -> Credentials:
    """`agent-platform:gates` as the engine passes it to `configure`: JSON text or a mapping."""
    raw = config.get(CONFIG_KEY) if config is not None else None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return Credentials()
    prometheus = raw.get("prometheus") if isinstance(raw, dict) else None
    if not isinstance(prometheus, dict):
        return Credentials()
    return Credentials(prometheus.get("bearer_token"), prometheus.get("username"), prometheus.get("password"))


def _spec_fields(props: dict[str, Any]) -> dict[str, Any]:
    return {key: props[key] for key in GateSpec.model_fields if key in props}


def _outputs(spec_props: dict[str, Any], decision: Decision, spec: GateSpec, now: datetime) -> dict[str, Any]:
    return {
        **spec_props,
        "verdict": decision.verdict,
        "report": decision.report(spec.title),
        "checks": [c.as_dict() for c in decision.checks],
        "passed_at": format_time(now) if decision.verdict == "pass" else "",
        "evaluated_at": format_time(now),
    }


class SloGateProvider(ResourceProvider):
    """Holds only its clock: sessions and credentials are made per evaluation, never pickled."""

    serialize_as_secret_always = False

    def __init__(self, clock: Clock = system_clock):
        super().__init__()
        self.clock = clock
        self.config_credentials = Credentials()

    def configure(self, req: ConfigureRequest) -> None:
        self.config_credentials = credentials_from_config(req.config)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        known = {k: v for k, v in _spec_fields(news).items() if not _unknown(v)}
        failures = []
        try:
            GateSpec.model_validate(known)
        except ValidationError as exc:
            for item in exc.errors(include_url=False):
                path = ".".join(str(p) for p in item["loc"]) or "inputs"
                if item["type"] == "missing" and path.split(".")[0] not in known and path.split(".")[0] in news:
                    continue  # unknown until `up`; validated again by `create`
                failures.append(CheckFailure(path, f"{item['msg']} (got {item.get('input')!r})"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """A new evaluation when the decision's inputs change; how Prometheus is reached is no change at all.

        The verdict does not depend on the URL, timeouts or retries (credentials are never inputs), so a
        change to only those neither re-evaluates nor asks the engine for an update.
        """
        changed = [k for k in GateSpec.model_fields if _normal(olds.get(k)) != _normal(news.get(k))]
        replaces = [k for k in changed if k not in CONNECTION_KEYS]
        return DiffResult(changes=bool(replaces), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._evaluate(props)
        return CreateResult(f"{outs['agent_id']}/{outs.get('tenant_id') or '*'}/{outs['stage']}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """`diff` never asks for one; should the engine call it anyway, nothing stored is lost."""
        changed = {k for k in GateSpec.model_fields if _normal(olds.get(k)) != _normal(news.get(k))}
        if changed - CONNECTION_KEYS:
            return UpdateResult(self._evaluate(news))
        # Only how Prometheus is reached changed: the decision stands, so every output is carried over.
        return UpdateResult({**_spec_fields(news), **{k: olds.get(k) for k in OUTPUT_KEYS}})

    def _evaluate(self, props: dict[str, Any]) -> dict[str, Any]:
        spec_props = _spec_fields(props)
        spec = GateSpec.model_validate(spec_props)
        now = self.clock()
        decision = evaluate(spec, now, Credentials.resolve(fallback=self.config_credentials))
        outs = _outputs(spec_props, decision, spec, now)
        if decision.verdict == "pass" or (decision.verdict == "fail" and spec.policy == "rollback"):
            return outs
        raise GateBlockedError(outs["report"])


def _unknown(value: Any) -> bool:
    """The engine's host hands `check` a preview's unknowns as `pulumi.output.Unknown` (it deserializes with
    keep_unknowns); the bare sentinel string is how they cross the wire."""
    if value == UNKNOWN or isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _normal(value: Any) -> Any:
    """Numbers cross the engine as floats: 2 and 2.0 are the same input."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


@dataclass(frozen=True)
class SloGateArgs:
    namespace: pulumi.Input[str]
    agent_id: pulumi.Input[str]
    stable_version: pulumi.Input[str]
    canary_version: pulumi.Input[str]
    stage: pulumi.Input[int]
    weight: pulumi.Input[int]
    stage_started_at: pulumi.Input[str]
    min_duration_seconds: pulumi.Input[float]
    max_duration_seconds: pulumi.Input[float]
    criteria: SloGateCriteria = field(default_factory=SloGateCriteria)
    tenant_id: pulumi.Input[str] | None = None
    policy: Literal["rollback", "block"] = "rollback"
    mode: Literal["canary", "blue_green"] = "canary"
    error_statuses: tuple[str, ...] = DEFAULT_ERROR_STATUSES
    labels: MetricLabels = field(default_factory=MetricLabels)
    connection: PrometheusConnection = field(default_factory=PrometheusConnection)
    agent_checks: AgentGateChecks = field(default_factory=AgentGateChecks)
    dimensions: tuple[Dimension, ...] = ()
    """What the canary changes (image, model, config, env): in the gate's inputs and its report's title."""

    def props(self) -> dict[str, Any]:
        # Only when set: gates evaluated before these inputs existed keep their inputs unchanged.
        agent: dict[str, Any] = {"agent_checks": self.agent_checks.model_dump()} if self.agent_checks.enabled else {}
        # An image release is what every gate judged before dimensions existed: no input, no replacement.
        agent |= {"dimensions": list(self.dimensions)} if self.dimensions not in ((), ("image",)) else {}
        return agent | {
            "prometheus_url": self.connection.url,
            "prometheus_access": self.connection.access,
            "prometheus_region": self.connection.region,
            "namespace": self.namespace,
            "agent_id": self.agent_id,
            "tenant_id": self.tenant_id,
            "stable_version": self.stable_version,
            "canary_version": self.canary_version,
            "stage": self.stage,
            "weight": self.weight,
            "stage_started_at": self.stage_started_at,
            "min_duration_seconds": self.min_duration_seconds,
            "max_duration_seconds": self.max_duration_seconds,
            "criteria": self.criteria.model_dump(),
            "policy": self.policy,
            "mode": self.mode,
            "error_statuses": list(self.error_statuses),
            "labels": self.labels.model_dump(),
            # Only the connection's address and limits become inputs: its secrets are read at evaluation.
            "query_timeout_seconds": self.connection.query_timeout_seconds,
            "deadline_seconds": self.connection.deadline_seconds,
            "retries": self.connection.retries,
        }


class SloGate(DynamicResource, module="agent-platform", name="SloGate"):
    verdict: pulumi.Output[str]
    report: pulumi.Output[str]
    checks: pulumi.Output[list]
    passed_at: pulumi.Output[str]
    evaluated_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: SloGateArgs,
        opts: pulumi.ResourceOptions | None = None,
        clock: Clock = system_clock,
    ):
        props = {**args.props(), **dict.fromkeys(OUTPUT_KEYS)}
        super().__init__(SloGateProvider(clock), name, props, opts)
