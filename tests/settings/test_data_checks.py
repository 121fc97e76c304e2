"""Each data rule refuses its setting before anything is registered, with the exact line the operator reads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from settings import SettingsError, stack_file, validate
from settings.loader import parse_config_value

Edit = Callable[[dict[str, Any]], None]


def raw_settings(stack: str) -> dict[str, Any]:
    config = stack_file.read(stack).values
    prefix = "agent-platform:"
    return {k[len(prefix) :]: parse_config_value(v) for k, v in config.items() if k.startswith(prefix)}


def setter(path: str, value: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    return edit


def tenant(index: int, **values: Any) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        raw["tenants"][index].update(values)

    return edit


def both(*edits: Edit) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        for e in edits:
            e(raw)

    return edit


P = "Pulumi.prod.yaml: agent-platform:"
D = "Pulumi.dev.yaml: agent-platform:"
CASES = [
    *(
        pytest.param(
            stack,
            setter(path, False),
            f"Pulumi.{stack}.yaml: agent-platform:{path}: false leaves {what} unencrypted at rest; every stack "
            "requires encryption with the stack's KMS key: set it to true (allowed: true)",
            id=f"{stack} refuses unencrypted {path}",
        )
        for stack in ("dev", "staging", "prod")
        for path, what in (
            ("data.postgres.storage_encrypted", "PostgreSQL storage"),
            ("data.redis.at_rest_encryption", "Redis storage and snapshots"),
        )
    ),
    pytest.param(
        "prod",
        setter("data.postgres.deletion_protection", False),
        f"{P}data.postgres.deletion_protection: deletion protection is off; prod requires it (allowed: true)",
        id="prod refuses deletion protection off",
    ),
    pytest.param(
        "prod",
        setter("data.postgres.backup_retention_days", 3),
        f"{P}data.postgres.backup_retention_days: backup retention 3 days is under 7; prod requires 7 to 35",
        id="prod refuses database retention under 7 days",
    ),
    pytest.param(
        "prod",
        setter("backups.aws_backup.retention_days", 5),
        f"{P}backups.aws_backup.retention_days: backup retention 5 days is under 7; prod requires 7 to 35",
        id="prod refuses backup plan retention under 7 days",
    ),
    pytest.param(
        "prod",
        both(setter("data.redis.num_nodes", 1), setter("data.redis.multi_az", False)),
        f"{P}data.redis.num_nodes: 1 is a single-node Redis; prod requires at least 2 (primary and replica)",
        id="prod refuses a single-node Redis",
    ),
    pytest.param(
        "prod",
        setter("data.postgres.multi_az", False),
        f"{P}data.postgres.multi_az: Multi-AZ is off; prod requires it (allowed: true)",
        id="prod refuses a single-AZ database",
    ),
    pytest.param(
        "prod",
        setter("data.redis.multi_az", False),
        f"{P}data.redis.multi_az: Multi-AZ is off; prod requires it (allowed: true)",
        id="prod refuses a single-AZ cache",
    ),
    pytest.param(
        "prod",
        setter("data.replication_region", "us-east-1"),
        f"{P}data.replication_region: 'us-east-1' is the primary region; prod requires a different region for DR "
        "copies",
        id="prod refuses a replication region equal to the primary",
    ),
    pytest.param(
        "prod",
        setter("data.postgres.cross_region_backups", False),
        f"{P}data.postgres.cross_region_backups: automated-backup replication to DR is off; prod "
        "requires it (allowed: true)",
        id="prod refuses automated backups kept only in the primary region",
    ),
    pytest.param(
        "prod",
        setter("backups.aws_backup.copy_to_dr", False),
        f"{P}backups.aws_backup.copy_to_dr: the copy of each recovery point to the DR region is off; prod requires "
        "it (allowed: true)",
        id="prod refuses recovery points kept only in the primary region",
    ),
    pytest.param(
        "prod",
        setter("backups.aws_backup.vault_lock", False),
        f"{P}backups.aws_backup.vault_lock: the compliance-mode vault lock is off; prod requires it (allowed: true)",
        id="prod refuses an unlocked backup vault",
    ),
    pytest.param(
        "dev",
        setter("data.redis.multi_az", True),
        f"{D}data.redis.num_nodes: 1 node with multi_az true; Multi-AZ failover needs at least 2 nodes",
        id="Multi-AZ Redis with one node is rejected in any stack",
    ),
    pytest.param(
        "dev",
        setter("data.redis.transit_encryption", False),
        f"{D}data.redis.transit_encryption: is false but iam_auth is true; IAM authentication requires encryption "
        "in transit (allowed: true)",
        id="IAM auth without transit encryption is rejected",
    ),
    pytest.param(
        "dev",
        both(tenant(1, data_residency="eu"), setter("data.eu_region", "us-west-1")),
        f"{D}tenants[1].data_residency: tenant 'globex' is EU-resident but its data services would be in us-west-1 "
        "(data.eu_region); allowed: an eu-* region",
        id="an EU tenant on a data service outside the EU is rejected",
    ),
    pytest.param(
        "prod",
        setter("data.eu_replication_region", "us-west-2"),
        f"{P}tenants[1].data_residency: tenant 'globex' is EU-resident but its backups would be copied to us-west-2 "
        "(data.eu_replication_region); allowed: an eu-* region",
        id="an EU tenant's backups copied outside the EU are rejected",
    ),
    pytest.param(
        "prod",
        lambda raw: raw["agents"][1]["tenants"].append("umbrella"),
        f"{P}agents[1].tenants[2]: tenant 'umbrella' is EU-resident, but agent 'invoice-extractor' keeps session "
        "volumes, which would be EBS volumes in the cluster's region us-east-1 backed up outside the EU; allowed: "
        "only stateless agents for EU tenants while the cluster is outside the EU",
        id="an EU tenant on a persistent-session agent in a cluster outside the EU is rejected",
    ),
    pytest.param(
        "dev",
        tenant(1, data_residency="eu"),
        f"{D}data.eu_network: is required: tenants globex are EU-resident and the primary region us-east-1 is not in "
        "the EU (give vpc_id and subnet_ids in eu-west-1)",
        id="EU tenants need an EU network when the primary region is not in the EU",
    ),
]


@pytest.mark.parametrize(("stack", "edit", "line"), CASES)
def test_rule_gives_its_exact_message(stack: str, edit: Edit, line: str) -> None:
    raw = copy.deepcopy(raw_settings(stack))
    edit(raw)
    with pytest.raises(SettingsError) as caught:
        validate(stack, raw)
    assert caught.value.lines.count(line) == 1, caught.value.lines


@pytest.mark.parametrize(
    "path",
    [
        "feature_flags.canary_percentage",
        "canary.max_tenant_exposure_pct",
        "gates.ga.checklist.rollout_mode.max_tenant_exposure_pct",
    ],
)
def test_prod_caps_the_canary_cohort_at_the_rollout_checklists_exposure(path: str) -> None:
    """The production rollout checklist lets a canary reach at most 5% of tenants before its gates pass; the canary
    feature-flag cohort is also the set of tenants a prod canary reaches first, so it has the same cap. 20% (the
    value prod accepted) and the 10% of staging's canary stage are refused in prod, 5% passes, staging keeps 20%."""
    for value, refused in ((20, True), (10, True), (5.01, True), (5, False)):
        raw = copy.deepcopy(raw_settings("prod"))
        setter(path, value)(raw)
        if not refused:
            validate("prod", raw)
            continue
        with pytest.raises(SettingsError) as caught:
            validate("prod", raw)
        assert caught.value.lines == [
            f"{P}{path}: {value:g}% is above prod's cohort cap of 5%: a canary reaches more tenants before its gates "
            "pass; allowed: at most 5"
        ]
    raw = copy.deepcopy(raw_settings("staging"))
    setter(path, 20)(raw)
    validate("staging", raw)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_stack_files_pass_every_data_rule(stack: str) -> None:
    validate(stack, raw_settings(stack))


def test_dev_may_be_single_az_and_unprotected() -> None:
    raw = raw_settings("dev")
    settings = validate("dev", raw)
    assert not settings.data.postgres.multi_az and not settings.data.protect


def test_alarm_subscription_must_be_an_endpoint_that_confirms_sns() -> None:
    """SNS sends a SubscriptionConfirmation to an HTTPS endpoint and delivers nothing until the endpoint
    fetches its SubscribeURL (SNS developer guide, "Confirm the subscription"); Alertmanager exposes no such
    endpoint, PagerDuty's and Opsgenie's CloudWatch integrations confirm on their own."""
    raw = copy.deepcopy(raw_settings("prod"))
    raw["data"]["alarms"] = {"subscription_endpoint": "https://alertmanager.agents.example.com/sns/data-services"}
    with pytest.raises(SettingsError) as caught:
        validate("prod", raw, {"data"})
    assert caught.value.lines == [
        f"{P}data.alarms.subscription_endpoint: https://alertmanager.agents.example.com/... cannot confirm an SNS "
        "subscription (Alertmanager has no SNS endpoint), so no alarm would be delivered; allowed: an https URL on "
        "events.pagerduty.com, events.eu.pagerduty.com, api.opsgenie.com, api.eu.opsgenie.com"
    ]
    raw["data"]["alarms"] = {"subscription_endpoint": "https://events.pagerduty.com/integration/0123abcd/enqueue"}
    assert validate("prod", raw, {"data"}).data.alarms.subscription_endpoint
    with pytest.raises(SettingsError) as caught:
        validate("prod", raw)
    assert "data.alarms.subscription_endpoint: is a secret but is stored in plain text" in caught.value.lines[0]
