"""A corpus of mutated stack files, written the way a careless or hurried operator would write them.

Mutants are generated from the three real stack files (type swaps, empty strings, out-of-range numbers,
misspelt keys, deleted keys, malformed CIDRs, hosts, images, durations and crons) plus named cases for
each category of bad setting. Each one is run through the real render command in this process and
classified:

- refused: exit 1, nothing written, every stderr line `Pulumi.<stack>.yaml[:line]: <where>: <what and fix>`
  and one of them names the mutated setting;
- unclear: refused, but a line is not in that form, names another setting, or says no fix;
- traceback: an exception escaped, or stderr holds a Python traceback;
- late: refused only after `build/` was written (the policy pack);
- rendered: exit 0; acceptable only when `HARMLESS` (or equivalence to the unmodified file) says why.

    python -m tests.settings.corpus [--stack prod] [--show unclear,traceback,rendered]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import fnmatch
import io
import re
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
NAMESPACE = "agent-platform"

# A refusal says what to do; these are the words a fix is phrased with.
FIX_WORDS = (
    "allowed",
    "should",
    "must",
    "required",
    "remove",
    "set ",
    "use ",
    "add ",
    "give",
    "shorten",
    "lower",
    "raise",
    "rename",
    "at most",
    "at least",
    "for example",
    "e.g.",
    "did you mean",
    "need",
    "pulumi config set",
    "acknowledge",
    "one of",
    "defined:",
    "fix ",
    "pin ",
    "requires",
    "move ",
)
# Messages that only restate a regular expression are not a fix an operator can act on.
OPAQUE = ("match pattern", "should match")

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutant:
    name: str
    stack: str
    text: str
    path: str | None
    """The setting the mutation touched (`cluster.vpc_cidr`), or None for a file-level mutation."""


@dataclass(frozen=True)
class Outcome:
    kind: str  # refused, unclear, traceback, late, rendered, harmless
    detail: str


# ---------------------------------------------------------------------------------------------------------
# generation


@cache
def _base_document(stack: str) -> dict[str, Any]:
    return yaml.load((ROOT / f"Pulumi.{stack}.yaml").read_text(), Loader=_LOADER)


def base_document(stack: str) -> dict[str, Any]:
    return copy.deepcopy(_base_document(stack))


def settings_of(document: dict[str, Any]) -> dict[str, Any]:
    prefix = f"{NAMESPACE}:"
    return {k[len(prefix) :]: v for k, v in document["config"].items() if k.startswith(prefix)}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, width=1000)


def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def with_settings(stack: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The stack file with `change` applied to its `agent-platform:` settings (a dict without the prefix)."""
    document = base_document(stack)
    raw = copy.deepcopy(settings_of(document))
    change(raw)
    others = {k: v for k, v in document["config"].items() if not k.startswith(f"{NAMESPACE}:")}
    document["config"] = {**others, **{f"{NAMESPACE}:{k}": v for k, v in raw.items()}}
    return dump(document)


def _get(raw: Any, path: Path_) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def _set(raw: Any, path: Path_, value: Any) -> None:
    _get(raw, path[:-1])[path[-1]] = value


def _delete(raw: Any, path: Path_) -> None:
    del _get(raw, path[:-1])[path[-1]]


def _rename(raw: Any, path: Path_, new: str) -> None:
    parent = _get(raw, path[:-1])
    items = list(parent.items())
    parent.clear()
    parent.update({(new if k == path[-1] else k): v for k, v in items})


# Maps whose keys are data (flag names, env variables, labels), not setting names.
FREE_FORM = ("feature_flags.defaults", "model", "env", "selector", "values")


def _free_form(path: Path_) -> bool:
    text = format_path(path)
    return any(text == f or text.endswith("." + f) or re.search(rf"\.{re.escape(f)}$", text) for f in FREE_FORM)


def walk(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any, bool]]:
    """(path, value, is the last part a key of a settings model) for every node below the root."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), item, not _free_form(path)
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):  # the first two entries stand for the rest
            yield (*path, index), item, False
            yield from walk(item, (*path, index))


def _typo(word: str) -> str:
    """Swap the two middle letters (`name` -> `nmae`), or double the last one if that changes nothing."""
    if len(word) >= 4:
        i = len(word) // 2 - 1
        swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if swapped != word:
            return swapped
    return word + word[-1]


# Malformed values by the name of the setting, as operators get them wrong.
BAD_VALUES: dict[str, list[Any]] = {
    "*cidr*": ["10.10.0.0/33", "10.10.0.1/16", "0.0.0.0/0", "169.254.0.0/16", "8.8.8.0/24", "10.10.0.0"],
    "host": [
        "Support-Bot.agents.example.com",
        "https://support.agents.example.com",
        "support..example.com",
        "x_y.example.com",
    ],
    "image": [
        "repo:latest:1.0",
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/Support-Bot",
        "agents/support bot",
    ],
    "version": ["latest", "1.4.2:1", "1.4.2 beta"],
    "digest": ["sha256:3f1c", "md5:3f1c5b0e8a9d4c7b"],
    "*region*": ["us-east-1a", "US-EAST-1", "useast1"],
    "vpc_id": ["vpc_0a1b2c3d", "0a1b2c3d4e5f60718"],
    "node_security_group_id": ["sg_0d3v", "default"],
    "oidc_provider_arn": ["arn:aws:iam::1111:oidc-provider/oidc.eks", "oidc.eks.us-east-1.amazonaws.com/id/X"],
    "oidc_issuer": ["https://oidc.eks.us-east-1.amazonaws.com/id/DEV0000000000000000000000000000"],
    "stack_reference": ["acme-platform/eks-cluster/prod/extra", "acme platform/eks/prod"],
    "schedule": ["0 */6 * *", "61 * * * *", "every 6 hours"],
    "ttl": ["30d", "720", "-1h"],
    "*_window": ["25:00-26:00", "02:00-02:10", "sun:03:30-sun:03:40"],
    "instance_class": ["t4g.micro", "db.t4g"],
    "node_type": ["t4g.small", "cache.t4g"],
    "subscription_endpoint": ["http://alertmanager.agents.example.com/sns", "alertmanager.agents.example.com"],
    "context": ["", "agents dev"],
    "name": ["Agents_Prod", "", "agents prod"],
    "owner": ["", "Team Support"],
    "oncall_receiver": [""],
    "environment": ["production", "Prod"],
    "tier": ["gold", "Premium"],
    "data_residency": ["EU", "de"],
    "id": ["Acme", "acme_corp", "-acme", "a" * 70],
    "session_state": ["stateful"],
    "lifecycle_stage": ["alpha"],
    "strategy": ["bluegreen"],
}


def bad_values(key: str) -> list[Any]:
    return [v for pattern, values in BAD_VALUES.items() if fnmatch.fnmatch(key, pattern) for v in values]


def _last_key(path: Path_) -> str:
    return next((str(p) for p in reversed(path) if isinstance(p, str)), "")


# Mutations whose outcome depends only on the value's type: tried on dev's file, not again on the others.
TYPE_ONLY = frozenset({"string-as-list", "bool-as-number", "number-fraction", "mapping-as-list", "list-as-string"})


def generated(stack: str) -> Iterator[Mutant]:
    raw = settings_of(base_document(stack))
    for path, value, model_key in list(walk(raw)):
        where = format_path(path)

        def mutant(kind: str, change: Callable[[dict[str, Any]], None], at: str = where, name: str = where) -> Mutant:
            return Mutant(f"{stack}/{kind}/{name}", stack, with_settings(stack, change), at)

        # type swaps
        if isinstance(value, bool):
            yield mutant("bool-as-word", lambda r, p=path: _set(r, p, "maybe"))
            yield mutant("bool-as-number", lambda r, p=path: _set(r, p, 2))
        elif isinstance(value, int | float):
            yield mutant("number-as-word", lambda r, p=path: _set(r, p, "many"))
            yield mutant("number-negative", lambda r, p=path: _set(r, p, -1))
            yield mutant("number-huge", lambda r, p=path: _set(r, p, 10**9))
            if isinstance(value, int):
                yield mutant("number-fraction", lambda r, p=path, v=value: _set(r, p, v + 0.5))
        elif isinstance(value, str):
            yield mutant("empty-string", lambda r, p=path: _set(r, p, ""))
            yield mutant("string-as-list", lambda r, p=path, v=value: _set(r, p, [v]))
            for index, bad in enumerate(bad_values(_last_key(path))):
                if bad != value and bad != "":
                    yield mutant(f"malformed-{index}", lambda r, p=path, b=bad: _set(r, p, b))
        elif isinstance(value, list):
            yield mutant("list-as-string", lambda r, p=path: _set(r, p, "a, b"))
            if value and isinstance(value[0], str) and fnmatch.fnmatch(_last_key(path), "*cidr*"):
                for index, bad in enumerate(bad_values(_last_key(path))):
                    yield mutant(f"malformed-{index}", lambda r, p=path, b=bad: _set(r, (*p, 0), b), f"{where}[0]")
        elif isinstance(value, dict):
            yield mutant("mapping-as-list", lambda r, p=path: _set(r, p, []))
        # misspelt and deleted keys of settings models
        if model_key and isinstance(path[-1], str):
            typo = _typo(path[-1])
            yield mutant("misspelt-key", lambda r, p=path, t=typo: _rename(r, p, t), format_path((*path[:-1], typo)))
            yield mutant("deleted-key", lambda r, p=path: _delete(r, p))


# ---------------------------------------------------------------------------------------------------------
# named cases: one or more per category of the issue

NamedChange = Callable[[dict[str, Any]], None]


def _tenant(raw: dict[str, Any], index: int, **values: Any) -> None:
    raw["tenants"][index].update(values)


def _cluster(**values: Any) -> NamedChange:
    return lambda r: r["cluster"].update(values)


def _agent(index: int, **values: Any) -> NamedChange:
    return lambda r: r["agents"][index].update(values)


def _deep(path: str, value: Any) -> NamedChange:
    """Set a dotted path, creating mappings on the way (`data.postgres.multi_az`)."""

    def change(raw: dict[str, Any]) -> None:
        parts = path.split(".")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    return change


def _file_text(stack: str, edit: Callable[[str], str]) -> str:
    return edit((ROOT / f"Pulumi.{stack}.yaml").read_text())


def named(stack: str) -> Iterator[Mutant]:
    """Cases named after the issue's categories; paths are the setting each must name."""

    def case(name: str, change: NamedChange, path: str) -> Mutant:
        return Mutant(f"{stack}/named/{name}", stack, with_settings(stack, change), path)

    def file_case(name: str, text: str, path: str | None = None) -> Mutant:
        return Mutant(f"{stack}/named/{name}", stack, text, path)

    # files
    yield file_case("file-is-a-list", "- config\n- tenants\n")
    yield file_case("file-is-a-scalar", "agent-platform\n")
    yield file_case("file-is-empty", "")
    yield file_case("config-is-a-list", "config:\n  - agent-platform:environment\n")
    yield file_case(
        "yaml-syntax-error",
        _file_text(stack, lambda t: t.replace("  agent-platform:tenants:", "  agent-platform:tenants: [", 1)),
    )
    yield file_case(
        "yaml-bad-indentation",
        _file_text(stack, lambda t: t.replace("    - id: acme\n", "    - id: acme\n   tier: x\n", 1)),
    )
    yield file_case(
        "yaml-tab",
        _file_text(stack, lambda t: t.replace("  agent-platform:environment", "\tagent-platform:environment", 1)),
    )
    yield file_case(
        "duplicate-top-level-key",
        _file_text(stack, lambda t: t + f"  agent-platform:environment: {stack}\n"),
        "environment",
    )
    yield file_case(
        "duplicate-nested-key",
        _file_text(
            stack, lambda t: t.replace("      tier: standard\n", "      tier: standard\n      tier: premium\n", 1)
        ),
        "tenants[0].tier",
    )
    yield file_case(
        "misspelt-namespace",
        _file_text(stack, lambda t: t.replace("  agent-platform:backups:", "  agent-platfrom:backups:", 1)),
        "agent-platfrom:backups",
    )
    yield file_case(
        "unknown-namespace-for-settings",
        _file_text(stack, lambda t: t.replace("  agent-platform:data:", "  platform:data:", 1)),
        "platform:data",
    )
    yield file_case("misspelt-config", _file_text(stack, lambda t: t.replace("config:", "confg:", 1)), "confg")
    # CIDRs
    yield case("vpc-cidr-bad-prefix", _cluster(vpc_cidr="10.10.0.0/33"), "cluster.vpc_cidr")
    yield case("vpc-cidr-ipv6", _cluster(vpc_cidr="fd00::/56"), "cluster.vpc_cidr")
    yield case("vpc-cidr-everything", _cluster(vpc_cidr="0.0.0.0/0"), "cluster.vpc_cidr")
    yield case("vpc-cidr-public", _cluster(vpc_cidr="52.0.0.0/16"), "cluster.vpc_cidr")
    yield case(
        "data-subnet-metadata-range", _cluster(data_subnet_cidrs=["169.254.169.0/24"]), "cluster.data_subnet_cidrs[0]"
    )
    yield case("data-subnet-everything", _cluster(data_subnet_cidrs=["0.0.0.0/0"]), "cluster.data_subnet_cidrs[0]")
    yield case("data-subnet-outside-vpc", _cluster(data_subnet_cidrs=["10.99.32.0/24"]), "cluster.data_subnet_cidrs[0]")
    yield case("aws-api-cidr-host-bits", _cluster(aws_api_cidrs=["10.10.1.7/24"]), "cluster.aws_api_cidrs[0]")
    yield case("aws-api-cidr-everything", _cluster(aws_api_cidrs=["0.0.0.0/0"]), "cluster.aws_api_cidrs[0]")
    # namespaces, hosts, images, DNS names
    yield case(
        "monitoring-namespace-not-a-label", _cluster(monitoring_namespace="Monitoring"), "cluster.monitoring_namespace"
    )
    yield case("ingress-namespace-empty", _cluster(ingress_namespace=""), "cluster.ingress_namespace")
    yield case(
        "bootstrap-namespace-not-a-label", _deep("data.bootstrap_namespace", "agent_data"), "data.bootstrap_namespace"
    )
    yield case("velero-namespace-not-a-label", _deep("backups.velero.namespace", "velero."), "backups.velero.namespace")
    yield case("argocd-namespace-not-a-label", _deep("gitops.argocd_namespace", "Argo CD"), "gitops.argocd_namespace")
    yield case(
        "host-with-scheme", _agent(0, ingress={"domain": "https://agents.example.com"}), "agents[0].ingress.domain"
    )
    yield case("host-with-port", _agent(0, ingress={"domain": "agents.example.com:443"}), "agents[0].ingress.domain")
    yield case("host-single-label", _agent(0, ingress={"domain": "agents"}), "agents[0].ingress.domain")
    yield case(
        "tenant-host-with-scheme",
        _agent(0, ingress={"domain": "agents.example.com", "hosts": {"acme": "https://bot.acme.example.com"}}),
        "agents[0].ingress.hosts.acme",
    )
    yield case(
        "host-too-long-label", _agent(0, ingress={"domain": "b" * 64 + ".example.com"}), "agents[0].ingress.domain"
    )
    yield case("image-latest-concatenated", _agent(0, image="repo:latest:1.0"), "agents[0].image")
    yield case(
        "image-with-tag",
        _agent(0, image="111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/bot:1.4.2"),
        "agents[0].image",
    )
    yield case("image-uppercase", _agent(0, image="Agents/Bot"), "agents[0].image")
    yield case("version-latest", _agent(0, version="latest"), "agents[0].version")
    yield case(
        "canary-image-latest",
        _agent(0, rollout={"canary": {"version": "9.9.9", "image": "bot:latest"}}),
        "agents[0].rollout.canary.image",
    )
    yield case("bootstrap-image-latest", _deep("data.bootstrap_image", "postgres:latest"), "data.bootstrap_image")
    yield case(
        "aws-cli-image-no-tag", _deep("data.aws_cli_image", "public.ecr.aws/aws-cli/aws-cli"), "data.aws_cli_image"
    )
    yield case(
        "synthetic-image-latest",
        _agent(0, synthetic_session={"image": "curlimages/curl:latest"}),
        "agents[0].synthetic_session.image",
    )
    yield case("storage-class-not-dns", _deep("names.storage_class", "Encrypted_GP3"), "names.storage_class")
    yield case("agent-secret-not-dns", _deep("names.agent_secret", "agent secrets"), "names.agent_secret")
    yield case(
        "tls-secret-not-dns",
        _agent(0, ingress={"domain": "agents.example.com", "tls_secret": "Bot_TLS"}),
        "agents[0].ingress.tls_secret",
    )
    yield case("ingress-class-empty", _cluster(ingress_class=""), "cluster.ingress_class")
    # AWS identifiers
    yield case(
        "rds-identifier-too-long",
        lambda r: r["tenants"].append({"id": "t" * 44, "tier": "enterprise"}),
        "tenants[*].id",
    )
    yield case(
        "rds-identifier-double-hyphen",
        lambda r: r["tenants"].append({"id": "big--co", "tier": "enterprise"}),
        "tenants[*].id",
    )
    yield case("database-name-leading-digit", lambda r: r["tenants"].append({"id": "9lives"}), "tenants[*].id")
    yield case("database-name-too-long", lambda r: r["tenants"].append({"id": "d" * 60}), "tenants[*].id")
    yield case("kms-alias-no-prefix", _deep("names.kms_alias", "agent-platform-{environment}"), "names.kms_alias")
    yield case("kms-alias-aws-reserved", _deep("names.kms_alias", "alias/aws/agent-platform"), "names.kms_alias")
    yield case("kms-alias-unknown-placeholder", _deep("names.kms_alias", "alias/agents-{env}"), "names.kms_alias")
    yield case("iam-role-name-too-long", _deep("data.ebs_csi_role_name", "R" * 65), "data.ebs_csi_role_name")
    yield case("iam-role-name-bad-chars", _deep("data.ebs_csi_role_name", "EBS CSI role"), "data.ebs_csi_role_name")
    yield case("cronjob-name-too-long", lambda r: r["agents"][0].update(id="s" * 50), "agents[0].id")
    yield case("elasticache-user-id-leading-digit", lambda r: r["tenants"].append({"id": "1st"}), "tenants[*].id")
    yield case("eks-cluster-name-bad", _cluster(name="agents_prod!"), "cluster.name")
    yield case("tenant-id-leading-digit", lambda r: r["tenants"].append({"id": "3m"}), "tenants[*].id")
    yield case(
        "enterprise-tenant-id-leading-digit",
        lambda r: r["tenants"].append({"id": "3m", "tier": "enterprise"}),
        "tenants[*].id",
    )
    yield case("agent-id-leading-digit", lambda r: r["agents"][0].update(id="1-bot"), "agents[0].id")
    yield case("elasticache-user-id-too-long", lambda r: r["tenants"].append({"id": "e" * 38}), "tenants[*].id")
    yield case(
        "replica-bucket-name-too-long",
        lambda r: r.update(primary_region="us-northwesterncentralxyz-1"),
        "primary_region",
    )
    yield case(
        "secret-key-not-a-key",
        _deep("names.agent_secret_keys", {"openai_key": "openai key"}),
        "names.agent_secret_keys.openai_key",
    )
    yield case("redis-engine-version", _deep("data.redis.engine_version", "7"), "data.redis.engine_version")
    # durations and crons
    yield case("velero-schedule-four-fields", _deep("backups.velero.schedule", "0 */6 * *"), "backups.velero.schedule")
    yield case("velero-schedule-minute-60", _deep("backups.velero.schedule", "60 * * * *"), "backups.velero.schedule")
    yield case("velero-ttl-days", _deep("backups.velero.ttl", "30d"), "backups.velero.ttl")
    yield case(
        "aws-backup-schedule-five-fields",
        _deep("backups.aws_backup.schedule", "cron(0 5 * * *)"),
        "backups.aws_backup.schedule",
    )
    yield case(
        "aws-backup-schedule-both-days",
        _deep("backups.aws_backup.schedule", "cron(0 5 * * * *)"),
        "backups.aws_backup.schedule",
    )
    yield case(
        "synthetic-schedule-bad",
        _agent(0, synthetic_session={"schedule": "hourly"}),
        "agents[0].synthetic_session.schedule",
    )
    yield case("slo-period-unit", _deep("slo.period", "30days"), "slo.period")
    yield case(
        "canary-min-duration-bad", _deep("canary.min_durations", ["10m", "20 m", "30m"]), "canary.min_durations[1]"
    )
    yield case(
        "backup-window-overlaps-maintenance",
        _deep("data.postgres.maintenance_window", "sun:02:00-sun:03:00"),
        "data.postgres.maintenance_window",
    )
    yield case(
        "backup-window-short", _deep("data.postgres.backup_window", "02:00-02:15"), "data.postgres.backup_window"
    )
    yield case("ga-evidence-age-bad", _deep("gates.ga.max_evidence_age", "7 days"), "gates.ga.max_evidence_age")
    # consistency the cluster enforces later
    yield case(
        "quota-below-one-pod",
        _deep("tiers", {"standard": {"quota": {"requests_cpu": "100m"}}}),
        "tiers.standard.quota.requests_cpu",
    )
    yield case(
        "requests-over-limits",
        _agent(0, resources={"requests": {"cpu": "4", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}),
        "agents[0].resources.requests.cpu",
    )
    yield case(
        "limits-over-limitrange-max",
        _agent(0, resources={"limits": {"cpu": "20", "memory": "2Gi"}}),
        "agents[0].resources.limits.cpu",
    )
    yield case(
        "requests-under-limitrange-min",
        _agent(0, resources={"requests": {"cpu": "10m", "memory": "512Mi"}}),
        "agents[0].resources.requests.cpu",
    )
    yield case(
        "limitrange-default-over-max",
        _deep("tiers", {"standard": {"limit_range": {"container_default": {"cpu": "10", "memory": "2Gi"}}}}),
        "tiers.standard.limit_range.container_default.cpu",
    )
    yield case(
        "limitrange-min-over-max",
        _deep("tiers", {"premium": {"limit_range": {"container_min": {"cpu": "9", "memory": "128Mi"}}}}),
        "tiers.premium.limit_range.container_min.cpu",
    )
    yield case("pvc-over-limitrange", _agent(1, session_storage="500Gi"), "agents[1].session_storage")
    yield case("pvc-under-limitrange", _agent(1, session_storage="100Mi"), "agents[1].session_storage")
    yield case("hpa-min-over-tier-max", _agent(0, scaling={"min_replicas": 60}), "agents[0].scaling.min_replicas")
    yield case(
        "hpa-max-below-environment-min", _agent(0, scaling={"max_replicas": 1}), "agents[0].scaling.max_replicas"
    )
    yield case("lifecycle-port-collides-metrics", _agent(0, lifecycle_port=9090), "agents[0].lifecycle_port")
    yield case("lifecycle-port-privileged", _agent(0, lifecycle_port=80), "agents[0].lifecycle_port")
    # cross-tenant and cluster-wide holes
    yield case(
        "tenant-namespace-as-monitoring", _cluster(monitoring_namespace=f"acme-{stack}"), "cluster.monitoring_namespace"
    )
    yield case("tenant-namespace-as-ingress", _cluster(ingress_namespace=f"acme-{stack}"), "cluster.ingress_namespace")
    yield case(
        "tenant-namespace-as-velero", _deep("backups.velero.namespace", f"acme-{stack}"), "backups.velero.namespace"
    )
    yield case(
        "tenant-namespace-as-bootstrap", _deep("data.bootstrap_namespace", f"acme-{stack}"), "data.bootstrap_namespace"
    )
    yield case(
        "tenant-namespace-kube-system",
        lambda r: r["tenants"].append({"id": "kube"}) or r["cluster"].update(monitoring_namespace=f"kube-{stack}"),
        "cluster.monitoring_namespace",
    )
    yield case("system-group-as-admin", lambda r: _tenant(r, 0, admin_group="system:masters"), "tenants[0].admin_group")
    yield case(
        "system-authenticated-as-admin",
        lambda r: _tenant(r, 0, admin_group="system:authenticated"),
        "tenants[0].admin_group",
    )
    yield case("admin-group-empty", lambda r: _tenant(r, 0, admin_group=""), "tenants[0].admin_group")
    other = "staging" if stack == "prod" else "prod"
    yield case("environment-of-another-stack", lambda r: r.update(environment=other), "environment")
    # prod invariants the DR runbook depends on
    yield case("vault-lock-off", _deep("backups.aws_backup.vault_lock", False), "backups.aws_backup.vault_lock")
    yield case("dr-copy-off", _deep("backups.aws_backup.copy_to_dr", False), "backups.aws_backup.copy_to_dr")
    yield case(
        "cross-region-backups-off",
        _deep("data.postgres.cross_region_backups", False),
        "data.postgres.cross_region_backups",
    )
    yield case("redis-iam-auth-off", _deep("data.redis.iam_auth", False), "data.redis.iam_auth")
    yield case("cohort-cap-raised", _deep("canary.max_tenant_exposure_pct", 50), "canary.max_tenant_exposure_pct")
    yield case("protect-off", _deep("data.protect", False), "data.protect")
    yield case("final-snapshot-off", _deep("data.postgres.final_snapshot", False), "data.postgres.final_snapshot")
    yield case(
        "deletion-protection-off",
        _deep("data.postgres.deletion_protection", False),
        "data.postgres.deletion_protection",
    )
    yield case("transit-encryption-off", _deep("data.redis.transit_encryption", False), "data.redis.transit_encryption")
    # refused by settings before anything is written (before: only by the policy pack or the GA gate, after it)
    yield case(
        "storage-unencrypted", _deep("data.postgres.storage_encrypted", False), "data.postgres.storage_encrypted"
    )
    yield case(
        "redis-storage-unencrypted", _deep("data.redis.at_rest_encryption", False), "data.redis.at_rest_encryption"
    )
    if stack == "prod":  # the GA checklist holds prod `ga` agents: research-assistant, agents[2]
        yield case("ga-no-slo-objectives", _deep("slo.latency", []), "slo.latency")
        yield case("ga-stack-policy-block", _deep("canary.policy", "block"), "canary.policy")
        yield case(
            "ga-agent-policy-block",
            lambda r: r["agents"][2].setdefault("rollout", {}).update(policy="block"),
            "agents[2].rollout.policy",
        )
        yield case(
            "ga-agent-blue-green",
            lambda r: r["agents"][2].setdefault("rollout", {}).update(strategy="blue_green"),
            "agents[2].rollout.strategy",
        )
        yield case("ga-no-shadow-stage", _deep("canary.weights", [5, 25, 50, 100]), "canary.weights")

        def over_agent_cap(raw: dict[str, Any]) -> None:
            extra = [f"t{i:02d}" for i in range(36)]
            raw["tenants"] += [{"id": t} for t in extra]
            raw["agents"][2]["tenants"] += extra
            _deep("gates.ga.checklists", {"research-assistant": {"rollout_mode": {"max_tenant_exposure_pct": 2.5}}})(
                raw
            )

        yield case("ga-exposure-over-agent-checklist", over_agent_cap, "canary.max_tenant_exposure_pct")
    # credentials in non-secret fields
    yield case(
        "openai-key-in-env",
        _agent(0, env={"PROVIDER_CONFIG": "sk-proj-" + "a1B2c3D4" * 6}),
        "agents[0].env.PROVIDER_CONFIG",
    )
    yield case(
        "anthropic-key-in-model",
        _agent(0, model={"OPENAI_MODEL": "sk-ant-api03-" + "Zx9" * 20}),
        "agents[0].model.OPENAI_MODEL",
    )
    yield case("aws-key-in-env", _agent(0, env={"UPSTREAM": "AKIAIOSFODNN7EXAMPLE"}), "agents[0].env.UPSTREAM")
    yield case("github-token-in-owner", _agent(0, owner="ghp_" + "A1b2C3d4E5f6" * 3), "agents[0].owner")
    yield case(
        "url-user-info",
        _deep("gates.prometheus.url", "https://admin:hunter2@prometheus.example.com"),
        "gates.prometheus.url",
    )
    yield case(
        "url-user-info-pushgateway",
        _agent(0, synthetic_session={"pushgateway_url": "http://u:p4ss@pushgateway.monitoring.svc:9091"}),
        "agents[0].synthetic_session.pushgateway_url",
    )
    yield case(
        "high-entropy-token",
        _agent(0, env={"UPSTREAM_AUTH": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A"}),
        "agents[0].env.UPSTREAM_AUTH",
    )
    yield case(
        "slack-webhook-in-runbook-url",
        _deep("observability.runbook_base_url", "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"),
        "observability.runbook_base_url",
    )
    yield case(
        "plaintext-bearer-token",
        _deep("gates.prometheus.bearer_token", "eyJhbGciOiJIUzI1NiJ9.e30.abc"),
        "gates.prometheus.bearer_token",
    )


def _kept(mutant: Mutant, dev_paths: set[str]) -> bool:
    """Type-only mutations run on dev alone; a key deleted from staging or prod is only tried when dev's file
    does not have it (the deletion of a shared key is the same experiment)."""
    stack, kind, where = mutant.name.split("/", 2)
    if stack == "dev" or kind == "named":
        return True
    if kind in TYPE_ONLY:
        return False
    return not (kind == "deleted-key" and where in dev_paths)


@cache
def corpus(stacks: tuple[str, ...] = STACKS) -> list[Mutant]:
    dev_paths = {format_path(path) for path, _, _ in walk(settings_of(base_document("dev")))}
    mutants = [m for stack in stacks for m in (*named(stack), *generated(stack)) if _kept(m, dev_paths)]
    seen: set[tuple[str, str]] = set()
    unique = []
    for m in mutants:  # identical files (e.g. two bad values that coincide) count once
        if (m.stack, m.text) not in seen:
            seen.add((m.stack, m.text))
            unique.append(m)
    return unique


# ---------------------------------------------------------------------------------------------------------
# mutants that may render, and why

PROD_ONLY = (
    "vault-lock-off",
    "dr-copy-off",
    "cross-region-backups-off",
    "redis-iam-auth-off",
    "cohort-cap-raised",
    "protect-off",
    "final-snapshot-off",
    "deletion-protection-off",
    "transit-encryption-off",
)
HARMLESS: dict[str, str] = {
    **{
        f"[ds][et][va]*/named/{case}": "only prod requires it (DR runbook); dev and staging may turn it off"
        for case in PROD_ONLY
    },
    "*/deleted-key/*": "an optional setting: its documented default applies (docs/settings.md; staging and "
    "prod defaults in ENVIRONMENT_DEFAULTS, whose prod invariants are checked)",
    "dev/named/hpa-max-below-environment-min": "dev's default minimum is 1 replica, so a maximum of 1 is valid",
    "*/malformed-0/cluster.name": "EKS cluster names may hold upper-case letters and '_'",
    "*/malformed-1/cluster.context": "kubeconfig context names are free text",
    "*/malformed-1/agents[[]*].owner": "the owner is free text (a team's name) in descriptions",
    "*/deleted-key/feature_flags*": "feature flags default to off; the file then simply turns fewer on",
    "*/deleted-key/agents[[]*].capabilities": "capabilities are descriptive labels; none is required",
    "*/deleted-key/agents[[]*].model": "model settings are optional env; the runtime has its own default model",
    "*/deleted-key/agents[[]*].lifecycle_stage": "the default stage production_rollout is valid for any agent",
    "*/deleted-key/agents[[]*].digest": "without a digest the tag is deployed (prod pins are checked by the GA gate)",
    "*/deleted-key/tenants[[]*].beta": "beta enrolment defaults to off",
    "*/deleted-key/tenants[[]*].tier": "a tenant without a tier is standard, the cheapest tier",
    "*/deleted-key/cluster.context": "without a context the kubeconfig's current context is used",
    "*/number-huge/data.postgres.max_allocated_storage_gb": "unreachable: storage autoscaling stops at the RDS limit",
    "*/misspelt-key/feature_flags.defaults.*": "flag names are free-form; an unknown flag is never read",
    "*/misspelt-key/agents[[]*].model.*": "model keys are free-form env names for the runtime",
}


def harmless_reason(mutant: Mutant) -> str | None:
    return next((reason for pattern, reason in HARMLESS.items() if fnmatch.fnmatchcase(mutant.name, pattern)), None)


# ---------------------------------------------------------------------------------------------------------
# running

LINE = re.compile(r"^(?P<file>Pulumi\.[a-z]+\.yaml)(:(?P<line>\d+))?: (?P<rest>.+)$")


def _paths_of(rest: str) -> tuple[str | None, str]:
    """(`agent-platform:<path>` or `<namespace>:<key>` named by the line, message)."""
    match = re.match(r"^(?P<key>[A-Za-z0-9_.-]+:[^:\s]*|[a-z]+):\s(?P<message>.+)$", rest)
    if not match:
        return None, rest
    return match["key"], match["message"]


def _related(named: str, mutated: str) -> bool:
    named = named.removeprefix(f"{NAMESPACE}:")
    if "[*]" in mutated:
        pattern = re.escape(mutated).replace(re.escape("[*]"), r"\[\d+\]")
        return bool(re.match(pattern, named))
    return (
        named == mutated
        or named.startswith((mutated + ".", mutated + "["))
        or mutated.startswith((named + ".", named + "["))
    )


def classify(mutant: Mutant, code: int, stdout: str, stderr: str, wrote: bool) -> Outcome:
    if "Traceback (most recent call last)" in stderr or "Traceback (most recent call last)" in stdout:
        return Outcome("traceback", stderr.strip().splitlines()[-1] if stderr.strip() else stdout[-200:])
    if code == 0:
        reason = harmless_reason(mutant)
        return Outcome("harmless", reason) if reason else Outcome("rendered", "rendered cleanly")
    if wrote:
        return Outcome("late", " | ".join(line for line in stdout.splitlines() if "violation" in line.lower())[:300])
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code != 1 or not lines:
        return Outcome("unclear", f"exit {code}: {stderr.strip()[:200]}")
    named_paths = []
    for line in lines:
        match = LINE.match(line)
        if not match or match["file"] != f"Pulumi.{mutant.stack}.yaml":
            return Outcome("unclear", f"not `Pulumi.{mutant.stack}.yaml: ...`: {line}")
        key, message = _paths_of(match["rest"])
        if key is None and match["line"] is None and mutant.path is not None:
            return Outcome("unclear", f"names no setting: {line}")
        lowered = message.lower()
        if any(word in lowered for word in OPAQUE) or not any(word in lowered for word in FIX_WORDS):
            return Outcome("unclear", f"no fix: {line}")
        named_paths.append(key or "")
    if (
        mutant.path is not None
        and not any(_related(p, mutant.path) for p in named_paths)
        and not any(mutant.path in line for line in lines)
    ):
        return Outcome("unclear", f"does not name {mutant.path}: {lines[0]}")
    return Outcome("refused", lines[0])


@cache
def _base_settings(stack: str) -> Any:
    return _settings_from(ROOT / f"Pulumi.{stack}.yaml", stack)


def _settings_from(path: Path, stack: str) -> Any:
    from settings import settings_from_config, stack_file

    config = stack_file.read(stack, path=path)
    return settings_from_config(stack, config.values, config.secret_keys).model_dump()


def equivalent(mutant: Mutant, path: Path) -> bool:
    """The mutant means exactly what the unmodified file means (e.g. it deleted a key holding the default)."""
    try:
        return _settings_from(path, mutant.stack) == _base_settings(mutant.stack)
    except Exception:
        return False


def run_mutant(mutant: Mutant, workdir: Path) -> Outcome:
    from stacks import render

    folder = Path(tempfile.mkdtemp(dir=workdir))
    try:
        stack_file = folder / f"Pulumi.{mutant.stack}.yaml"
        stack_file.write_text(mutant.text)
        if equivalent(mutant, stack_file):
            return Outcome("harmless", "equivalent: the same settings as the unmodified stack file")
        out = folder / "build"
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = render.main([mutant.stack, "--out", str(out), "--stack-file", str(stack_file)])
            except BaseException:  # what escapes is exactly what is measured
                traceback.print_exc(file=stderr)
                code = -1
        wrote = out.exists() and any(out.iterdir())
        return classify(mutant, code, stdout.getvalue(), stderr.getvalue(), wrote)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_corpus(mutants: list[Mutant]) -> dict[str, Outcome]:
    workdir = Path(tempfile.mkdtemp(prefix="corpus-"))
    try:
        return {m.name: run_mutant(m, workdir) for m in mutants}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.settings.corpus")
    parser.add_argument("--stack", action="append", choices=STACKS)
    parser.add_argument("--show", default="unclear,traceback,rendered,late")
    parser.add_argument("--match", default="*")
    parser.add_argument("--sample", type=int, default=1, help="every named case, and every Nth generated one")
    args = parser.parse_args(argv)
    mutants = [m for m in corpus(tuple(args.stack or STACKS)) if fnmatch.fnmatchcase(m.name, args.match)]
    generated_ones = [m for m in mutants if "/named/" not in m.name]
    kept = {m.name for m in generated_ones[:: args.sample]}
    mutants = [m for m in mutants if "/named/" in m.name or m.name in kept]
    show = set(args.show.split(","))
    outcomes: dict[str, Outcome] = {}
    workdir = Path(tempfile.mkdtemp(prefix="corpus-"))
    try:
        for mutant in mutants:
            outcome = outcomes[mutant.name] = run_mutant(mutant, workdir)
            if outcome.kind in show:
                print(f"{outcome.kind:9} {mutant.name}: {outcome.detail}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    counts = Counter(o.kind for o in outcomes.values())
    print(f"\n{len(outcomes)} mutants: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
