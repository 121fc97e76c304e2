"""Names derived from tenant and agent ids, held to the rules of the service that receives them.

Rules encoded from the services' documentation:
- RDS DB instance identifier: 1-63 letters, digits and hyphens, first a letter, no two consecutive hyphens, not
  ending with a hyphen (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html,
  DBInstanceIdentifier).
- RDS for PostgreSQL DBName: 1-63, begins with a letter, then letters, underscores or digits (same page, DBName).
- ElastiCache UserId: pattern `[a-zA-Z][a-zA-Z0-9\\-]*`, minimum length 1, no documented maximum
  (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateUser.html); the program holds it to
  40, the replication group id's limit.
- Kubernetes Service names are RFC 1035 labels (start with a letter); namespaces are RFC 1123 labels, which may
  start with a digit (https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
"""

from __future__ import annotations

import copy
import re

import pytest

from conventions.identifiers import agent_track_name, database_name, elasticache_user_id, rds_identifier
from settings import SettingsError, validate
from tests.settings.test_data_checks import raw_settings

RDS_IDENTIFIER = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,62}(?<!-)$")
POSTGRES_DB_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$")
ELASTICACHE_USER_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
RFC1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
RFC1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STACKS = ("dev", "staging", "prod")


def _refusal(stack: str, raw: dict) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        validate(stack, raw)
    return caught.value.lines


def _with_tenant(stack: str, tenant_id: str, tier: str = "enterprise") -> dict:
    raw = copy.deepcopy(raw_settings(stack))
    raw["tenants"].append({"id": tenant_id, "tier": tier})
    return raw


@pytest.mark.parametrize("stack", STACKS)
def test_every_accepted_tenant_id_derives_names_aws_accepts(stack: str) -> None:
    """The longest enterprise tenant id the settings accept derives an RDS identifier, a database name and an
    ElastiCache user id the services accept; one character more is refused, naming the id and the limit."""
    accepted = None
    for length in range(1, 70):
        tenant_id = "t" * length
        try:
            validate(stack, _with_tenant(stack, tenant_id))
        except SettingsError as error:
            assert all(f"Pulumi.{stack}.yaml: agent-platform:tenants[" in line for line in error.lines), error.lines
            assert any("shorten the id" in line for line in error.lines), error.lines
            break
        accepted = tenant_id
    assert accepted is not None and len(accepted) < 69
    assert RDS_IDENTIFIER.match(rds_identifier(stack, accepted))
    assert POSTGRES_DB_NAME.match(database_name(accepted))
    user = elasticache_user_id(accepted, stack)
    assert ELASTICACHE_USER_ID.match(user) and len(user) <= 40


@pytest.mark.parametrize("stack", STACKS)
def test_tenant_id_starting_with_a_digit_is_refused_for_its_elasticache_user(stack: str) -> None:
    """`3m`: its namespace (`3m-<env>`, an RFC 1123 label), RDS identifier (`agent-platform-<env>-3m`) and database
    (`tenant_3m`) all start as their rules require, but the ElastiCache user id `3m-<env>` must start with a
    letter: the settings refuse the id, naming the tenant's id and ElastiCache."""
    assert RFC1123_LABEL.match(f"3m-{stack}")
    assert RDS_IDENTIFIER.match(rds_identifier(stack, "3m")) and POSTGRES_DB_NAME.match(database_name("3m"))
    assert not ELASTICACHE_USER_ID.match(elasticache_user_id("3m", stack))
    lines = _refusal(stack, _with_tenant(stack, "3m", "standard"))
    index = len(raw_settings(stack)["tenants"])
    assert lines == [
        f"Pulumi.{stack}.yaml: agent-platform:tenants[{index}].id: its ElastiCache user id '3m-{stack}' must start "
        "with a letter and have no two consecutive hyphens (ElastiCache's rule); rename the tenant"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_agent_id_starting_with_a_digit_is_refused_for_its_services(stack: str) -> None:
    """`1-bot` is an RFC 1123 label (the id's type) but its Services `1-bot`, `1-bot-stable` would be refused by
    the API server (Service names are RFC 1035 labels)."""
    assert RFC1123_LABEL.match("1-bot") and not RFC1035_LABEL.match(agent_track_name("1-bot", "stable"))
    raw = copy.deepcopy(raw_settings(stack))
    old = raw["agents"][0]["id"]
    raw["agents"][0]["id"] = "1-bot"
    lines = [line for line in _refusal(stack, raw) if "agents[0].id" in line]
    assert lines == [
        f"Pulumi.{stack}.yaml: agent-platform:agents[0].id: its Service '1-bot' is not an RFC 1035 label "
        "(Kubernetes Service names must start with a letter and have at most 63 characters); rename the agent to "
        "start with a letter"
    ], (old, lines)


@pytest.mark.parametrize("stack", STACKS)
def test_the_stack_files_derive_valid_service_names(stack: str) -> None:
    settings = validate(stack, raw_settings(stack))
    for agent in settings.agents:
        for name in (agent.id, agent_track_name(agent.id, "stable"), agent_track_name(agent.id, "canary")):
            assert RFC1035_LABEL.match(name) and len(name) <= 63, name
