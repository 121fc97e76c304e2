"""Shared building blocks of the stack settings: the strict base model and validated scalar types."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from conventions.regions import AWS_REGION

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
EU_REGION_PREFIX = "eu-"
SECRET_MARK = "secret"


class Settings(BaseModel):
    """Strict base: unknown keys are errors, so a typo never silently falls back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _dns_label(value: str) -> str:
    if len(value) > 63:
        raise ValueError(f"{value!r} is {len(value)} characters; a DNS-1123 label has at most 63")
    if not DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit)"
        )
    return value


def _aws_region(value: str) -> str:
    if not AWS_REGION.match(value):
        raise ValueError(f"{value!r} is not an AWS region name (for example us-east-1, eu-west-1)")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
AwsRegion = Annotated[str, AfterValidator(_aws_region)]


def is_eu_region(region: str) -> bool:
    return region.startswith(EU_REGION_PREFIX)


PLACEHOLDER_PREFIX = "<secret "
"""How offline readers spell a `secure:` value they do not decrypt (`settings/stack_file.py`)."""


def is_placeholder(value: str) -> bool:
    return value.startswith(PLACEHOLDER_PREFIX)


def SecretField(default: Any = None, description: str = "") -> Any:  # noqa: N802 - reads like Field
    """A field whose value must only ever come from `pulumi config set --secret`."""
    return Field(default=default, description=description, json_schema_extra={SECRET_MARK: True})
