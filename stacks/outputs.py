"""The stack outputs contract: what other teams read with a `StackReference`.

The models are the contract's one home. The README's outputs table and `docs/outputs.schema.json` are
generated from them (`python -m stacks.outputs --write`; a test fails when either drifts), every render's
`outputs.json` is validated against them, and a consumer can parse what it reads:

    outputs = StackOutputs.model_validate(reference_outputs)

Versioning: `schema_version` is `MAJOR.MINOR`. Adding an output or a field bumps MINOR; removing or
renaming one, or changing its type or meaning, is breaking and bumps MAJOR. `CHANGELOG` says what each
version changed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.2"
CHANGELOG: dict[str, str] = {
    "1.0": "First published contract: schema_version, environment, tenants, data, agents, observability.",
    "1.1": "agents.<id>.tenants.<tenant>.release: where an automatic release stands (null otherwise).",
    "1.2": "agents.<id>.tenant_waves: the tenants an automatic release widens to, wave by wave. "
    "A field that may be null may also be absent: a Python program reading the outputs with a "
    "StackReference gets no key for a null value. Read those fields with `.get`.",
}
ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "docs" / "outputs.schema.json"
README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- outputs-contract:start -->", "<!-- outputs-contract:end -->"


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def since(version: str, description: str) -> Any:
    return Field(description=description, json_schema_extra={"since": version})


class TenantOutput(Contract):
    namespace: str
    tier: Literal["standard", "premium", "enterprise"]
    data_residency: str
    canary_cohort: bool
    flags_enabled: list[str]


class Postgres(Contract):
    endpoint: str
    port: int
    master_secret_arn: str
    resource_id: str


class Redis(Contract):
    endpoint: str
    reader_endpoint: str | None = None
    port: int


class Backup(Contract):
    vault_name: str
    vault_arn: str
    plan_id: str
    dr_vault_arn: str | None = None


class DataSite(Contract):
    region: str
    dr_region: str | None = None
    kms_key_arn: str
    dr_kms_key_arn: str | None = None
    postgres: Postgres
    dedicated_postgres: dict[str, Postgres]
    redis: Redis
    agent_data_bucket: str
    agent_data_replica_bucket: str | None = None
    backup: Backup
    alarm_topic_arn: str


class TenantData(Contract):
    data_site: str
    region: str
    database_url: str = Field(description="IAM authentication, no password")
    redis_url: str = Field(description="IAM authentication, no password")
    llm_secret_arns: dict[str, str]


class Velero(Contract):
    role_arn: str
    bucket_names: dict[str, str]
    schedules: list[str]


class DatabaseUsers(Contract):
    role_arn: str
    jobs: list[str]


class DataOutput(Contract):
    sites: dict[str, DataSite] = Field(description="per data site (`primary`, `eu`)")
    tenants: dict[str, TenantData]
    storage_class: str
    velero: Velero
    database_users: DatabaseUsers


class ReleaseEvent(Contract):
    at: str
    event: str = Field(description="started wave stage hold fail abort retry pause resume promote timed_out refused")
    stage: int
    weight: int
    verdict: str
    reason: str
    by: str = Field(description="who asked, for an operator's action; empty for the gate's own moves")


class Release(Contract):
    stage: int
    weight: int = Field(description="canary weight the state applies (0 after a fail or an abort)")
    phase: Literal["waiting", "progressing", "paused", "promoted", "failed", "aborted", "timed_out"]
    verdict: str = Field(description="the last look's verdict")
    hold_reason: str
    stage_started_at: str
    evaluated_at: str
    history: list[ReleaseEvent]


class AgentTenant(Contract):
    namespace: str
    service_name: str
    url: str = Field(description="cluster-local")
    workload_name: str
    weight: int = Field(description="canary traffic applied: 0 after a rollback")
    stable_version: str
    canary_version: str | None = None
    rolled_back: bool
    promoted: bool
    gate_verdict: str | None = None
    release: Release | None = Field(None, description="`progression: automatic`: the RolloutState, else null")


class AgentOutput(Contract):
    strategy: Literal["canary", "blue_green"]
    stage: int
    stage_weight: int = Field(description="what the stage asks for")
    stable_version: str
    canary_version: str | None = None
    tenants_exposed: list[str] = Field(description="the canary cohort: tenants running the canary track first")
    tenant_waves: list[list[str]] = Field(
        description="`progression: automatic`: the other tenants, wave by wave, each after the previous promoted"
    )
    ga_gate_verdict: str | None = Field(None, description="prod `ga` agents: the GA readiness gate, else null")
    tenants: dict[str, AgentTenant]


class Dashboard(Contract):
    configmap: str
    namespace: str
    uid: str
    title: str


class GateSeries(Contract):
    requests_metric: str
    duration_histogram: str
    duration_bucket_series: str
    duration_count_series: str
    latency_buckets: list[float]
    labels: dict[str, str]
    error_statuses: list[str]


class AgentObservability(Contract):
    dashboard: Dashboard
    service_monitors: dict[str, str] = Field(description="object names in the tenant namespace")
    rules: dict[str, str] = Field(description="object names in the tenant namespace")
    gate: GateSeries = Field(description="what the SLO gate queries")


class ObservabilityOutput(Contract):
    agents: dict[str, AgentObservability]


class StackOutputs(Contract):
    """Everything `pulumi stack output` shows for a stack of this project. Outputs never hold secret
    values: credentials are referenced by ARN."""

    schema_version: str = since("1.0", "version of this contract; a breaking change bumps the major version")
    environment: Literal["dev", "staging", "prod"] = since("1.0", "`dev`, `staging` or `prod`")
    tenants: dict[str, TenantOutput] = since("1.0", "per tenant id")
    data: DataOutput = since("1.0", "data services per site and per tenant; see docs/disaster-recovery.md")
    agents: dict[str, AgentOutput] = since("1.0", "per agent id")
    observability: ObservabilityOutput = since("1.0", "dashboards, monitors and rules; see docs/runbooks.md")


def json_schema() -> dict[str, Any]:
    schema = StackOutputs.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"agent-platform/outputs/{SCHEMA_VERSION}"
    return schema


def _fields(model: type[BaseModel]) -> str:
    """`a`, `b` (`c`, `d`): a model's fields with the nested models' fields in brackets."""
    parts = []
    for name, field in model.model_fields.items():
        inner = _nested_model(field.annotation)
        text = f"`{name}`"
        if inner is not None:
            text += f" ({_fields(inner)})"
        if field.description:
            text += f": {field.description}"
        parts.append(text)
    return ", ".join(parts)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def readme_table() -> str:
    rows = ["| output | since | meaning |", "|---|---|---|"]
    for name, field in StackOutputs.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        inner = _nested_model(field.annotation)
        meaning = field.description or ""
        if inner is not None:
            meaning += f"; fields: {_fields(inner)}"
        rows.append(f"| `{name}` | {extra['since']} | {meaning.replace('|', chr(92) + '|')} |")
    changes = [f"- {version}: {text}" for version, text in CHANGELOG.items()]
    return "\n".join([*rows, "", f"Contract version {SCHEMA_VERSION}. Changes:", *changes])


def readme_with_table(text: str) -> str:
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no {TABLE_START} ... {TABLE_END} block")
    return pattern.sub(lambda _: f"{TABLE_START}\n{readme_table()}\n{TABLE_END}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the outputs table and JSON Schema from the models.")
    parser.add_argument("--write", action="store_true", help="write README.md and docs/outputs.schema.json")
    args = parser.parse_args(argv)
    schema = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    readme = readme_with_table(README.read_text())
    if args.write:
        SCHEMA_PATH.write_text(schema)
        README.write_text(readme)
        return 0
    stale = [p.name for p, new in ((SCHEMA_PATH, schema), (README, readme)) if not p.exists() or p.read_text() != new]
    if stale:
        print(f"out of date: {', '.join(stale)}; run python -m stacks.outputs --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
