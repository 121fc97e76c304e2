"""Validated scalar settings: each type holds the real rule of the system that consumes the value, and its
message says what a valid value looks like, so a component never meets a value it cannot use.

Sources of the rules are cited in tests/settings/test_formats.py.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

from settings.base import DNS1123_LABEL, DnsLabel

# --- generic -------------------------------------------------------------------------------------------


def matching(regex: str, what: str) -> AfterValidator:
    """A string of a fixed shape, refused with an example instead of the regular expression."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not valid here; use {what}")
        return value

    return AfterValidator(check)


# --- networks ------------------------------------------------------------------------------------------

PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")


def _private_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 CIDR; use one like 10.10.0.0/16") from None
    if network.version != 4:
        raise ValueError(f"{value!r} is IPv6; the VPC's networks are IPv4: use a CIDR like 10.10.0.0/16")
    if "/" not in value:
        raise ValueError(f"{value!r} has no prefix length; write the network as a CIDR, e.g. {value}/24")
    if str(network) != value:
        raise ValueError(f"{value!r} has host bits set; the network is {network}: use that")
    if network.overlaps(LINK_LOCAL):
        raise ValueError(f"{value!r} overlaps 169.254.0.0/16, the instance metadata range; use a private VPC range")
    if not any(network.subnet_of(r) for r in PRIVATE_RANGES):  # type: ignore[arg-type]
        raise ValueError(
            f"{value!r} is not a private range (a public or 0.0.0.0/0 CIDR here would open egress to it); use the "
            "VPC's own range in 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
        )
    return value


PrivateCidr = Annotated[str, AfterValidator(_private_cidr)]


def network_of(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


# --- Kubernetes names ----------------------------------------------------------------------------------

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _subdomain(value: str) -> str:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes object name; use a DNS-1123 subdomain (lower-case letters, digits, '-' "
            "and '.', at most 253, e.g. agent-secrets)"
        )
    return value


def _hostname(value: str) -> str:
    """An Ingress host: a fully qualified DNS name, optionally with one leading `*.` wildcard label."""
    if "://" in value or ":" in value or "/" in value:
        raise ValueError(f"{value!r} is not a host name; give only the name, without scheme, port or path")
    name = value[2:] if value.startswith("*.") else value
    labels = name.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(len(x) <= 63 and DNS1123_LABEL.match(x) for x in labels):
        raise ValueError(
            f"{value!r} is not a fully qualified DNS name; use lower-case labels of at most 63 letters, digits and "
            "'-', separated by dots, e.g. bot.agents.example.com"
        )
    return value


Namespace = DnsLabel
ObjectName = Annotated[str, AfterValidator(_subdomain)]
Hostname = Annotated[str, AfterValidator(_hostname)]

# --- container images ----------------------------------------------------------------------------------
# The reference grammar of distribution/reference (registry host[:port], lower-case path components).
_REGISTRY = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d+)?/)"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_REGISTRY}?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = r"sha256:[0-9a-f]{64}"
MUTABLE_TAGS = frozenset({"latest"})


def _repository(value: str) -> str:
    if not _REPOSITORY.match(value) or _looks_like_registry_only(value):
        hint = " without a tag (the tag is `version`)" if ":" in value.rsplit("/", 1)[-1] else ""
        raise ValueError(
            f"{value!r} is not an image repository{hint}; use lower-case path components separated by '/', "
            "e.g. 111111111111.dkr.ecr.us-east-1.amazonaws.com/agents/support-bot"
        )
    return value


def _looks_like_registry_only(value: str) -> bool:
    return "/" not in value and "." in value and not re.fullmatch(_COMPONENT, value)


def _tag(value: str) -> str:
    if not _TAG.match(value):
        raise ValueError(f"{value!r} is not an image tag; use letters, digits, '_', '.', '-' (at most 128), e.g. 1.4.2")
    if value in MUTABLE_TAGS:
        raise ValueError(f"{value!r} is a moving tag; pin a version such as 1.4.2 (images-pinned policy)")
    return value


def _image_reference(value: str) -> str:
    """`repository:tag` with an optional `@sha256:` digest; the tag may not be `latest`."""
    match = re.fullmatch(rf"(?P<repo>[^@\s]+?):(?P<tag>[^:/@\s]+)(?:@{_DIGEST})?", value)
    if not match or not _REPOSITORY.match(match["repo"]):
        raise ValueError(
            f"{value!r} is not an image reference with one tag; use repository:tag (optionally @sha256:<digest>), "
            "e.g. public.ecr.aws/aws-cli/aws-cli:2.22.35"
        )
    _tag(match["tag"])
    return value


ImageRepository = Annotated[str, AfterValidator(_repository)]
ImageTag = Annotated[str, AfterValidator(_tag)]
ImageReference = Annotated[str, AfterValidator(_image_reference)]
Digest = Annotated[str, matching(_DIGEST, "an image digest like sha256:<64 hex digits>")]

# --- durations, schedules, windows ----------------------------------------------------------------------

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Duration = Annotated[str, matching(r"\d+(s|m|h|d|w)", "a duration like 30s, 5m, 1h, 7d or 2w")]
GoDuration = Annotated[
    str, matching(r"(\d+(\.\d+)?(h|m|s|ms))+", "a Go duration like 720h or 90m (no 'd': Velero reads hours)")
]

_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_CRON_MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_CRON_NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "day of week": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}


def _cron_value(text: str, field: str, low: int, high: int) -> bool:
    names = _CRON_NAMES.get(field, [])
    if text.lower() in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_field(text: str, field: str, low: int, high: int) -> bool:
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and int(step) > 0):
            return False
        if base == "*":
            continue
        start, _, end = base.partition("-")
        if not _cron_value(start, field, low, high) or (end and not _cron_value(end, field, low, high)):
            return False
    return True


def _cron(value: str) -> str:
    """A Kubernetes CronJob / Velero schedule: five fields (or a macro such as @daily)."""
    if value.strip() in _CRON_MACROS:
        return value
    fields = value.split()
    example = "for example '0 */6 * * *' (minute hour day-of-month month day-of-week, UTC)"
    if len(fields) != 5:
        raise ValueError(f"{value!r} has {len(fields)} fields; a cron schedule has 5, {example}")
    for text, (field, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        if not _cron_field(text, field, low, high):
            raise ValueError(f"{value!r}: {text!r} is not a valid {field} ({low}-{high}); {example}")
    return value


def _aws_cron(value: str) -> str:
    """An AWS Backup schedule: `cron(minutes hours day-of-month month day-of-week year)`, with `?` in exactly
    one of the two day fields."""
    example = "for example cron(0 5 * * ? *)"
    match = re.fullmatch(r"cron\((.+)\)", value)
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        raise ValueError(f"{value!r} is not an AWS cron expression of six fields; use one {example}")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ValueError(f"{value!r}: exactly one of day-of-month and day-of-week must be '?'; {example}")
    for text, (field, low, high) in zip(fields[:2], _CRON_FIELDS[:2], strict=True):
        if not _cron_field(text, field, low, high):
            raise ValueError(f"{value!r}: {text!r} is not a valid {field} ({low}-{high}); {example}")
    return value


Cron = Annotated[str, AfterValidator(_cron)]
AwsCron = Annotated[str, AfterValidator(_aws_cron)]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError
    return int(hours) * 60 + int(minutes)


def window_minutes(value: str) -> tuple[int, int]:
    """Start and end of a daily (`02:00-03:00`) or weekly (`sun:03:30-sun:04:30`) window in minutes of the week
    (daily windows: of the day)."""
    start, end = value.split("-")

    def at(text: str) -> int:
        if text[:3] in _DAYS and text[3:4] == ":":
            return _DAYS.index(text[:3]) * 1440 + _minutes(text[4:])
        return _minutes(text)

    return at(start), at(end)


def _window(weekly: bool, minimum: int):
    day = r"(mon|tue|wed|thu|fri|sat|sun):"
    regex = rf"{day}\d\d:\d\d-{day}\d\d:\d\d" if weekly else r"\d\d:\d\d-\d\d:\d\d"
    example = "sun:03:30-sun:04:30" if weekly else "02:00-03:00"
    period = 7 * 1440 if weekly else 1440

    def check(value: str) -> str:
        try:
            if not re.fullmatch(regex, value):
                raise ValueError
            start, end = window_minutes(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a UTC window; use one like {example}") from None
        if (end - start) % period < minimum:
            raise ValueError(f"{value!r} is shorter than {minimum} minutes, the AWS minimum; e.g. {example}")
        return value

    return AfterValidator(check)


def DailyWindow(minimum: int = 30) -> AfterValidator:  # noqa: N802 - reads like a type
    return _window(weekly=False, minimum=minimum)


def WeeklyWindow(minimum: int = 30) -> AfterValidator:  # noqa: N802 - reads like a type
    return _window(weekly=True, minimum=minimum)


def overlaps(daily: str, weekly: str) -> bool:
    """Whether a daily window overlaps a weekly one on its day (RDS refuses a backup window that does)."""
    d_start, d_end = window_minutes(daily)
    w_start, w_end = window_minutes(weekly)
    length = (d_end - d_start) % 1440
    for day in range(7):
        start = day * 1440 + d_start
        for offset in (0, 7 * 1440):
            if start < w_end + offset and w_start + offset < start + length:
                return True
    return False


# --- AWS identifiers ----------------------------------------------------------------------------------

IAM_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _iam_role_name(value: str) -> str:
    if not IAM_NAME.match(value):
        raise ValueError(f"{value!r} is not an IAM role name; use 1-64 letters, digits and +=,.@_- (no spaces)")
    return value


def _kms_alias(value: str) -> str:
    """`alias/<name>` with `{environment}` and `{region}` placeholders; `alias/aws/` is reserved for AWS."""
    try:
        example = value.format(environment="prod", region="eu-central-1")
    except (KeyError, IndexError, ValueError):
        raise ValueError(
            f"{value!r} may only use the placeholders {{environment}} and {{region}}, "
            "e.g. alias/agent-platform-{environment}"
        ) from None
    if not re.fullmatch(r"alias/[a-zA-Z0-9/_-]{1,250}", example) or example.startswith("alias/aws/"):
        raise ValueError(
            f"{value!r} is not a KMS alias: it must start with 'alias/' (not 'alias/aws/', reserved) and use "
            "letters, digits, '/', '_' and '-', e.g. alias/agent-platform-{environment}"
        )
    return value


IamRoleName = Annotated[str, AfterValidator(_iam_role_name)]
KmsAlias = Annotated[str, AfterValidator(_kms_alias)]
EksClusterName = Annotated[
    str, matching(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "an EKS cluster name (1-100 letters, digits, '-', '_')")
]
VpcId = Annotated[str, matching(r"vpc-[0-9a-z]{8,17}", "a VPC id like vpc-0a1b2c3d4e5f60718")]
SubnetId = Annotated[str, matching(r"subnet-[0-9a-z]{8,17}", "a subnet id like subnet-0a11aa11aa11aa111")]
SecurityGroupId = Annotated[str, matching(r"sg-[0-9a-z]{8,17}", "a security group id like sg-0123456789abcdef0")]
OidcProviderArn = Annotated[
    str,
    matching(
        r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/[a-z0-9.-]+/.+",
        "an IAM OIDC provider ARN like arn:aws:iam::111111111111:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>",
    ),
]
OidcIssuer = Annotated[
    str,
    matching(
        r"[a-z0-9.-]+\.[a-z]{2,}(/[A-Za-z0-9._-]+)+",
        "an OIDC issuer host and path without https://, like oidc.eks.us-east-1.amazonaws.com/id/<ID>",
    ),
]
StackReference = Annotated[
    str,
    matching(
        r"([A-Za-z0-9_.-]+/){0,2}[A-Za-z0-9_.-]+", "a stack reference like org/project/stack (letters, digits, _.-)"
    ),
]
RdsInstanceClass = Annotated[str, matching(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS instance class like db.r6g.large")]
CacheNodeType = Annotated[str, matching(r"cache\.[a-z0-9]+\.[a-z0-9]+", "a cache node type like cache.r6g.large")]
EngineVersion = Annotated[str, matching(r"\d+\.\d+", "a major.minor engine version like 16.4 or 7.1")]
HttpsUrl = Annotated[
    str, matching(r"https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/\S*)?", "an https:// URL like https://host/path")
]
HttpUrl = Annotated[
    str, matching(r"https?://[A-Za-z0-9.-]+(:\d+)?(/\S*)?", "an http(s):// URL like http://host.namespace.svc:9090")
]
NonEmpty = Annotated[str, matching(r"\S(.*\S)?", "a non-empty value without surrounding spaces")]
Word = Annotated[str, matching(r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a name of letters, digits, '_', '.' and '-'")]
FlagName = Annotated[
    str, matching(r"[a-z][a-z0-9_]*", "a flag name of lower-case letters, digits and _ like tool_router_v2")
]
EnvName = Annotated[str, matching(r"[A-Za-z_][A-Za-z0-9_]*", "an environment variable name like OPENAI_MODEL")]
