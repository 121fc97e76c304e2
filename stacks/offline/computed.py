"""Values the cloud would compute (ids, ARNs, endpoints), made up deterministically for the offline render.

A type that needs particular outputs registers a function here; everything else echoes its inputs.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from conventions.resource_types import ROLLOUT_STATE_TYPE
from gates.ga_checks import AgentFacts, settings_findings
from gates.rollout_state import stages_from, wave_of
from planning.release import start
from settings.gates import RolloutChecklist

# (logical name, inputs[, region of the resource's provider]) -> outputs
Computed = Callable[..., dict[str, Any]]
ACCOUNT = "123456789012"
_COMPUTED: dict[str, Computed] = {}


def computes(type_token: str) -> Callable[[Computed], Computed]:
    def register(fn: Computed) -> Computed:
        _COMPUTED[type_token] = fn
        return fn

    return register


def computed_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs a real `up` would fill in; ARNs follow AWS's format so consumers parse them."""
    if type_token in _COMPUTED:
        fn = _COMPUTED[type_token]
        return fn(name, inputs, region) if "region" in inspect.signature(fn).parameters else fn(name, inputs)
    if type_token.startswith("aws:"):
        service = type_token.split(":")[1].split("/")[0]
        physical = inputs.get("name") or inputs.get("identifier") or name
        return {"arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{physical}"}
    return {}


@computes("aws:iam/role:Role")
def _iam_role(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    role = inputs.get("name") or name
    return {"arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "name": role}


def _digest(*parts: str, length: int = 12) -> str:
    """Stable pseudo-random identifiers, so the offline render looks like AWS and never changes between runs."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@computes("aws:rds/instance:Instance")
def _rds_instance(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    identifier = inputs.get("identifier") or name
    host = f"{identifier}.c{_digest(identifier, length=10)}.{region}.rds.amazonaws.com"
    port = int(inputs.get("port") or 5432)
    return {
        "arn": f"arn:aws:rds:{region}:{ACCOUNT}:db:{identifier}",
        "address": host,
        "endpoint": f"{host}:{port}",
        "port": port,
        "resourceId": f"db-{_digest(identifier, length=26).upper()}",
        "masterUserSecrets": [
            {
                "secretArn": (
                    f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:"
                    f"rds!db-{_digest(identifier, 'secret', length=36)}"
                ),
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ],
    }


@computes("aws:elasticache/replicationGroup:ReplicationGroup")
def _redis_group(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    group = inputs.get("replicationGroupId") or name
    suffix = f"{_digest(group, length=6)}.ng.0001.{region}.cache.amazonaws.com"
    clustered = inputs.get("clusterMode") == "enabled"
    return {
        "arn": f"arn:aws:elasticache:{region}:{ACCOUNT}:replicationgroup:{group}",
        "port": int(inputs.get("port") or 6379),
        "primaryEndpointAddress": "" if clustered else f"master.{group}.{suffix}",
        "readerEndpointAddress": "" if clustered else f"replica.{group}.{suffix}",
        "configurationEndpointAddress": f"clustercfg.{group}.{suffix}" if clustered else "",
    }


@computes("aws:elasticache/user:User")
def _redis_user(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    return {"arn": f"arn:aws:elasticache:{region}:{ACCOUNT}:user:{inputs.get('userId') or name}"}


@computes("aws:kms/key:Key")
def _kms_key(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    d = _digest(name, region, length=32)
    key_id = f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
    return {"arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}", "keyId": key_id}


@computes("aws:s3/bucket:Bucket")
def _bucket(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    bucket = inputs.get("bucket") or name
    return {"arn": f"arn:aws:s3:::{bucket}", "bucket": bucket, "region": region}


@computes("aws:backup/vault:Vault")
def _backup_vault(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    vault = inputs.get("name") or name
    return {"arn": f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{vault}", "name": vault}


@computes("aws:backup/plan:Plan")
def _backup_plan(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    d = _digest(name, region, length=32)
    plan_id = f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
    return {"arn": f"arn:aws:backup:{region}:{ACCOUNT}:backup-plan:{plan_id}", "version": _digest(plan_id, length=32)}


@computes("aws:secretsmanager/secret:Secret")
def _secret(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    secret = inputs.get("name") or name
    return {"arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{secret}-{_digest(secret, length=6)}"}


@computes("aws:sns/topic:Topic")
def _topic(name: str, inputs: dict[str, Any], region: str = "us-east-1") -> dict[str, Any]:
    return {"arn": f"arn:aws:sns:{region}:{ACCOUNT}:{inputs.get('name') or name}"}


# Rollout gates. The offline render has no state and no Prometheus: it shows the stack as the `up` that
# applies the configured stage would leave it, i.e. with that stage's gate passed. Each stage's clock reads a
# fixed epoch plus one day per stage, and a gate passes at the earliest moment it could (its stage start plus
# the minimum duration), so the render never depends on the program's clock.
OFFLINE_EPOCH = "2025-01-01T00:00:00Z"


@computes("pulumi-python:dynamic/agent-platform:StageClock")
def _stage_clock(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    stage = inputs.get("stage")
    days = int(stage) if isinstance(stage, int | float) else 0  # unknown in a preview, as the output will be
    applied = datetime.fromisoformat(OFFLINE_EPOCH) + timedelta(days=days)
    return {"applied_at": applied.strftime("%Y-%m-%dT%H:%M:%SZ")}


@computes("pulumi-python:dynamic/agent-platform:SloGate")
def _slo_gate(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    start = inputs.get("stage_started_at")
    # In a preview the clock's time is unknown; the engine then reports every gate output as unknown too.
    start = start if isinstance(start, str) and start else OFFLINE_EPOCH
    started = datetime.fromisoformat(start.replace("Z", "+00:00"))
    passed = (started + timedelta(seconds=float(inputs.get("min_duration_seconds") or 0))).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return {
        "verdict": "pass",
        "report": "offline render: no Prometheus was queried; the gate is shown passed for the configured stage",
        "checks": [],
        "passed_at": passed,
        "evaluated_at": passed,
    }


@computes(ROLLOUT_STATE_TYPE)
def _rollout_state(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # What `create` stores for a new release: the cohort at its first stage, a widened tenant waiting for
    # its previous wave (whose states, in this render, have just started). No gate is looked at.
    state = start(str(inputs["canary_version"]), stages_from(inputs), OFFLINE_EPOCH, wave_of(inputs))
    return {**state.as_outputs(), "notify_status": ""}


@computes("pulumi-python:dynamic/agent-platform:GaReadinessGate")
def _ga_gate(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    # The checklist findings the settings alone decide are the gate's own, evaluated exactly: a stack whose
    # settings fail them renders `fail`, as its `up` would. The evidence is not read offline and shown passed;
    # `python -m gates.cli <stack>` evaluates it read-only.
    facts = AgentFacts(**{**inputs["facts"], "capabilities": tuple(inputs["facts"]["capabilities"])})
    findings = settings_findings(RolloutChecklist.model_validate(inputs["checklist"]), facts)
    failed = [f for f in findings if not f.passed]
    title = f"GA readiness gate {inputs['agent_id']}"
    if failed:
        report = "\n".join([f"{title}: FAIL on the stack settings alone", *(f"  {f.line()}" for f in failed)])
        return {"verdict": "fail", "report": report, "findings": [asdict(f) for f in findings], "passed_at": ""}
    return {
        "verdict": "pass",
        "report": f"{title}: the settings pass the checklist; offline render: no evidence was read, run "
        "python -m gates.cli to evaluate it",
        "findings": [asdict(f) for f in findings],
        "passed_at": OFFLINE_EPOCH,
    }
