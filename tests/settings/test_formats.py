"""Validated scalar settings hold the real rules of the systems that consume them; each test cites its source."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from settings import formats


def accepts(kind: object, value: str) -> bool:
    try:
        TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return False
    return True


def message(kind: object, value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(kind).validate_python(value)
    return str(caught.value.errors()[0]["ctx"]["error"])


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("10.10.0.0/16", True),
        ("172.16.8.0/24", True),
        ("192.168.0.0/16", True),
        ("10.10.0.0/33", False),  # no such prefix length
        ("10.10.0.1/16", False),  # host bits set: EC2 takes the network, which is not what was meant
        ("0.0.0.0/0", False),
        ("8.8.8.0/24", False),  # public
        ("169.254.169.0/24", False),  # link-local: the instance metadata service lives at 169.254.169.254
        ("fd00::/56", False),  # the VPC's networks here are IPv4
        ("10.10.0.0", False),
    ],
)
def test_private_cidrs(value: str, ok: bool) -> None:
    """VPC CIDR blocks are RFC 1918 private ranges (Amazon VPC User Guide, "VPC CIDR blocks"); the instance
    metadata service is on 169.254.169.254 (EC2 User Guide, "Instance metadata"), never a subnet."""
    assert accepts(formats.PrivateCidr, value) is ok


def test_cidr_with_host_bits_names_the_network() -> None:
    assert "the network is 10.10.0.0/16: use that" in message(formats.PrivateCidr, "10.10.0.1/16")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("bot.agents.example.com", True),
        ("*.agents.example.com", True),
        ("Bot.example.com", False),
        ("https://bot.example.com", False),
        ("bot.example.com:443", False),
        ("bot", False),
        ("bot..example.com", False),
        ("b" * 64 + ".example.com", False),
        ("x_y.example.com", False),
    ],
)
def test_ingress_hosts(value: str, ok: bool) -> None:
    """Ingress `host` is a fully qualified DNS-1123 subdomain, optionally with a leading `*.` wildcard label
    (Kubernetes API reference, IngressRule.host); labels have at most 63 characters (RFC 1123)."""
    assert accepts(formats.Hostname, value) is ok


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (formats.ImageRepository, "111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot", True),
        (formats.ImageRepository, "localhost:5000/agents/bot", True),
        (formats.ImageRepository, "agents/bot:1.4.2", False),  # a tag belongs in `version`
        (formats.ImageRepository, "repo:latest:1.0", False),
        (formats.ImageRepository, "Agents/Bot", False),
        (formats.ImageTag, "1.4.2", True),
        (formats.ImageTag, "latest", False),  # moving: the images-pinned policy refuses it
        (formats.ImageTag, "1.4.2:1", False),
        (formats.ImageTag, "." + "1" * 10, False),
        (formats.ImageReference, "public.ecr.aws/aws-cli/aws-cli:2.22.35", True),
        (formats.ImageReference, "curlimages/curl:8.11.1@sha256:" + "a" * 64, True),
        (formats.ImageReference, "curlimages/curl", False),
        (formats.ImageReference, "curlimages/curl:latest", False),
        (formats.ImageReference, "repo:latest:1.0", False),
    ],
)
def test_image_references(kind: object, value: str, ok: bool) -> None:
    """The reference grammar of distribution/reference (reference.go): lower-case path components separated by
    '/', an optional registry host with port, a tag of at most 128 characters `[\\w][\\w.-]{0,127}`."""
    assert accepts(kind, value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0 */6 * * *", True),
        ("30 2 * * mon-fri", True),
        ("@daily", True),
        ("0 */6 * *", False),
        ("60 * * * *", False),
        ("0 24 * * *", False),
        ("0 0 0 * *", False),
        ("every 6 hours", False),
    ],
)
def test_cron_schedules(value: str, ok: bool) -> None:
    """CronJob and Velero schedules: five fields, minute 0-59, hour 0-23, day of month 1-31, month 1-12, day of
    week 0-7, or a macro such as @daily (Kubernetes docs, CronJob "Schedule syntax"; robfig/cron)."""
    assert accepts(formats.Cron, value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("cron(0 5 * * ? *)", True),
        ("cron(0 5 ? * MON *)", True),
        ("cron(0 5 * * *)", False),  # five fields
        ("cron(0 5 * * * *)", False),  # neither day field is '?'
        ("cron(0 25 * * ? *)", False),
        ("0 5 * * ? *", False),
    ],
)
def test_aws_backup_schedules(value: str, ok: bool) -> None:
    """AWS Backup schedules are EventBridge cron expressions: six fields, `?` in one of day-of-month and
    day-of-week (AWS Backup Developer Guide, "Backup plan options"; EventBridge "Cron expressions")."""
    assert accepts(formats.AwsCron, value) is ok


@pytest.mark.parametrize(
    ("value", "ok"), [("720h", True), ("90m", True), ("1h30m", True), ("30d", False), ("720", False)]
)
def test_go_durations(value: str, ok: bool) -> None:
    """Velero's `--ttl` is a Go duration (time.ParseDuration): units ns to h, no days."""
    assert accepts(formats.GoDuration, value) is ok


def test_rds_windows() -> None:
    """RDS backup and maintenance windows last at least 30 minutes and may not overlap (RDS User Guide,
    "Backup window", "Maintenance window"); ElastiCache's last at least 60 minutes (ElastiCache User Guide,
    "Managing maintenance")."""
    daily = formats.DailyWindow(30)
    assert accepts(formats.Annotated[str, daily], "02:00-02:30")
    assert not accepts(formats.Annotated[str, daily], "02:00-02:15")
    assert not accepts(formats.Annotated[str, daily], "25:00-26:00")
    assert not accepts(formats.Annotated[str, formats.DailyWindow(60)], "03:00-03:30")
    assert accepts(formats.Annotated[str, formats.WeeklyWindow(30)], "sat:23:45-sun:00:15")  # over midnight
    assert formats.overlaps("02:00-03:00", "sun:02:30-sun:03:30")
    assert formats.overlaps("23:30-00:30", "mon:00:00-mon:01:00")
    assert not formats.overlaps("02:00-03:00", "sun:03:30-sun:04:30")


@pytest.mark.parametrize(
    ("value", "ok"),
    [("AmazonEKS_EBS_CSI_DriverRole", True), ("a+b=c,d.e@f-g", True), ("R" * 65, False), ("EBS CSI role", False)],
)
def test_iam_role_names(value: str, ok: bool) -> None:
    """IAM role names: 1-64 characters of `[\\w+=,.@-]` (IAM User Guide, "IAM object quotas"; CreateRole)."""
    assert accepts(formats.IamRoleName, value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("alias/agent-platform-{environment}", True),
        ("alias/agents/{environment}-{region}", True),
        ("agent-platform-{environment}", False),  # must start with alias/
        ("alias/aws/agent-platform", False),  # reserved for AWS managed keys
        ("alias/agents-{env}", False),  # only {environment} and {region} are filled in
        ("alias/agents platform", False),
    ],
)
def test_kms_aliases(value: str, ok: bool) -> None:
    """KMS alias names start with `alias/`, use `[a-zA-Z0-9/_-]`, and `alias/aws/` is reserved (KMS Developer
    Guide, "Creating an alias"; CreateAlias)."""
    assert accepts(formats.KmsAlias, value) is ok


IDENTIFIER_CASES = {
    # RDS CreateDBInstance, DBInstanceIdentifier: 1-63 letters, digits and hyphens, first a letter, no two
    # consecutive hyphens, no trailing hyphen.
    "rds identifier too long": (
        lambda r: r["tenants"].append({"id": "t" * 44, "tier": "enterprise"}),
        "its dedicated RDS instance identifier",
    ),
    "rds identifier with two hyphens": (
        lambda r: r["tenants"].append({"id": "big--co", "tier": "enterprise"}),
        "has two consecutive hyphens",
    ),
    # PostgreSQL identifiers (database and role names) are at most 63 bytes (NAMEDATALEN - 1).
    "database name too long": (lambda r: r["tenants"].append({"id": "d" * 57}), "PostgreSQL allows at most 63"),
    # ElastiCache CreateUser, UserId: starts with a letter, no two consecutive hyphens.
    "elasticache user id starts with a digit": (
        lambda r: r["tenants"].append({"id": "1st"}),
        "its ElastiCache user id '1st-prod' must start with a letter",
    ),
    # ElastiCache ids (user, user group, replication group): at most 40 characters (CreateReplicationGroup,
    # ReplicationGroupId; the console's rule for user ids). The user id is `<tenant>-<env>`.
    "elasticache user id too long": (
        lambda r: r["tenants"].append({"id": "e" * 36}),
        "its ElastiCache user id '" + "e" * 36 + "-prod' is 41 characters; ElastiCache allows at most 40: shorten "
        "the id to 35 characters",
    ),
    # S3 bucket names: 3 to 63 characters (S3 User Guide, "General purpose bucket naming rules"); the replica of
    # `agent-platform-<env>-<purpose>-<region>` adds `-replica`, and its access-log bucket `-logs`.
    "replica log bucket name too long": (
        lambda r: r.update(primary_region="us-northwesternzzx-1"),
        "agent-platform:primary_region: 'us-northwesternzzx-1' makes the replica's log bucket "
        "'agent-platform-prod-agent-data-us-northwesternzzx-1-replica-logs' 64 characters; S3 allows at most 63",
    ),
    # Kubernetes Secret data keys: letters, digits, '-', '_', '.'; the LLM keys also end Secrets Manager names.
    "secret key with a space": (
        lambda r: r.setdefault("names", {}).update(agent_secret_keys={"openai_key": "openai key"}),
        "agent-platform:names.agent_secret_keys.openai_key: 'openai key' is not valid here; use a Secret key",
    ),
    # Kubernetes CronJob: the name has at most 52 characters (its Jobs append 11).
    "cronjob name too long": (
        lambda r: r["agents"][0].update(id="s" * 35),
        "Kubernetes allows at most 52 for a CronJob",
    ),
}


@pytest.mark.parametrize(("change", "expected"), IDENTIFIER_CASES.values(), ids=IDENTIFIER_CASES.keys())
def test_derived_aws_and_kubernetes_names(change: object, expected: str) -> None:
    from tests.settings.test_settings import errors_of, mutate

    lines = errors_of("prod", mutate("prod", change))
    assert any(expected in line for line in lines), lines


def test_derived_names_at_their_limit_are_accepted() -> None:
    from settings import validate
    from tests.settings.test_settings import mutate

    def at_limits(raw: dict) -> None:
        # The ElastiCache user id `<id>-prod` binds first: 35 + 5 = 40 (the database `tenant_<id>` is 42).
        raw["tenants"].append({"id": "t" * 35, "tier": "premium"})
        raw["primary_region"] = "us-northwesternzz-1"  # the prod replicas' log buckets then have 63 characters
        raw["agents"][0].update(id="s" * 34)

    validate("prod", mutate("prod", at_limits))
