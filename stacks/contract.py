"""The agent image contract, generated from the homes of its facts (ports, paths, user, probes, secrets,
metrics) into docs/agent-contract.md, so the document cannot drift from what the render asks of an image.

    python -m stacks.contract --write docs/agent-contract.md
"""

from __future__ import annotations

from components import agent_service as svc
from components.base import rds_ca
from components.tenant_namespace import FLAGS_FILE
from conventions import metrics as catalog
from settings.agents import Agent, Probes, SyntheticRequest
from settings.names import SharedNames
from settings.reference import write_main

START, END = "<!-- agent-contract:start -->", "<!-- agent-contract:end -->"


def _code(value: object) -> str:
    return f"`{value}`"


def runtime_table() -> str:
    lifecycle = Agent.model_fields["lifecycle_port"].default
    probes = Probes()
    rows = [
        ("HTTP API port (`http`)", _code(svc.HTTP_PORT)),
        ("metrics port (`metrics`), path", f"{_code(svc.METRICS_PORT)}, `/metrics` (Prometheus text format)"),
        ("lifecycle port (`lifecycle`, `agents[].lifecycle_port`)", _code(lifecycle)),
        ("liveness probe", f"`GET {probes.liveness.path}` on the lifecycle port"),
        ("readiness probe", f"`GET {probes.readiness.path}` on the lifecycle port"),
        ("startup probe", f"`GET {probes.startup.path}` on the lifecycle port"),
        ("synthetic session and blue-green smoke request", f"`POST {SyntheticRequest().path}` on the HTTP port"),
        ("user and group", f"{_code(svc.UID)} (`runAsNonRoot`, all capabilities dropped, no privilege escalation)"),
        ("root filesystem", "read-only"),
        ("writable: temporary files (`TMPDIR`, `HOME`)", f"{_code(svc.TMP_DIR)} (memory-backed, `agents[].tmp_size`)"),
        ("writable: cache", f"{_code(svc.CACHE_DIR)} (`agents[].cache_size`, lost on restart)"),
        ("writable: session data (`session_state: persistent` only)", f"{_code(svc.SESSION_DIR)} (a volume per pod)"),
        ("read-only: the agent's config", f"{_code(svc.CONFIG_DIR)}"),
        (
            "read-only: the tenant's feature flags",
            f"`{svc.FLAGS_DIR}/{FLAGS_FILE}` (`AGENT_FEATURE_FLAGS_FILE`; updated in place, re-read it)",
        ),
        (
            "read-only: the release's config bundle (`config_bundle`, when set)",
            f"{_code(svc.BUNDLE_DIR)} (`AGENT_CONFIG_BUNDLE_DIR`, `_VERSION`, `_HASH`; a new bundle is a new pod)",
        ),
        (
            "read-only: the RDS CA bundle of the tenant's data region",
            f"{_code(rds_ca.CA_PATH)} (`sslrootcert` of `DATABASE_URL`; fetched by an init container at pod start)",
        ),
    ]
    return "\n".join(["| what | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)])


def secrets_table() -> str:
    names = SharedNames()
    keys = names.agent_secret_keys
    rows = [f"| `{env}` | `{getattr(keys, field)}` |" for env, field in svc.SECRET_ENV.items()]
    return "\n".join(
        [f"From the Secret `{names.agent_secret}` (required keys):", "", "| env var | key |", "|---|---|", *rows]
    )


def metrics_table() -> str:
    rows = []
    for m in catalog.CATALOG.values():
        if m.source != "runtime":
            continue
        must = "required" if m.required else "expected"
        shipped = "yes" if m.exported else "**no**"
        buckets = f"; buckets {', '.join(format(b, 'g') for b in m.buckets)}" if m.buckets else ""
        series = ", ".join(f"`{s}`" for s in m.series)
        rows.append(
            f"| {series} | {m.type} | {', '.join(f'`{label}`' for label in m.labels)}{buckets} | {must} | "
            f"{shipped} | {m.help} |"
        )
    return "\n".join(
        [
            "| stored series | type | labels | contract | reference runtime exports it | meaning |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )


def generated_block() -> str:
    return "\n".join(
        [
            START,
            "### Ports, paths and user",
            "",
            runtime_table(),
            "",
            "### Secrets",
            "",
            secrets_table(),
            "",
            "### Metrics",
            "",
            metrics_table(),
            END,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    return write_main("python -m stacks.contract", generated_block, START, END, argv)


if __name__ == "__main__":
    raise SystemExit(main())
