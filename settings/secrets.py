"""Which settings are secret, and whether a stack file holds one of them in plain text."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from settings.base import SECRET_MARK
from settings.errors import Problem, format_path
from settings.stack import StackSettings


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def secret_values(
    raw: Any, model: type[BaseModel] = StackSettings, loc: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Yield (location, value) for every secret field present in raw (unvalidated) settings."""
    if not isinstance(raw, dict):
        return
    for name, field in model.model_fields.items():
        if name not in raw or raw[name] is None:
            continue
        value = raw[name]
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get(SECRET_MARK):
            yield (*loc, name), value
            continue
        inner = _model_of(field.annotation)
        if inner is None:
            continue
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from secret_values(item, inner, (*loc, name, index))
        elif isinstance(value, dict) and getattr(field.annotation, "__origin__", None) is dict:
            for key, item in value.items():
                yield from secret_values(item, inner, (*loc, name, key))
        else:
            yield from secret_values(value, inner, (*loc, name))


def plaintext_secrets(raw: dict[str, Any], secret_keys: set[str]) -> list[Problem]:
    """A secret field is only acceptable inside a top-level key Pulumi holds encrypted (`secure:`)."""
    return [
        Problem(
            format_path(loc),
            f"is a secret but is stored in plain text; remove it from the stack file and run "
            f"`pulumi config set --secret --path 'agent-platform:{format_path(loc)}' <value>`",
        )
        for loc, _ in secret_values(raw)
        if loc[0] not in secret_keys
    ]


# Credential formats by their documented prefixes: OpenAI and Anthropic API keys, AWS access key ids, GitHub
# and GitLab tokens, Slack tokens and webhooks, Google API keys.
KNOWN_CREDENTIALS = re.compile(
    r"(sk-(ant-|proj-)?[A-Za-z0-9_-]{20,}|\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{30,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|\bAIza[0-9A-Za-z_-]{35}|hooks\.slack\.com/services/)"
)
URL_USER_INFO = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{32,}")
MIN_ENTROPY_BITS = 4.0
"""Per character: random base64 is 6, English words and ids well under 4; hex (digests, ids) is at most 4."""


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_random(token: str) -> bool:
    classes = sum(bool(re.search(p, token)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return classes == 3 and _entropy(token) > MIN_ENTROPY_BITS


def credential_kind(value: str) -> str | None:
    if KNOWN_CREDENTIALS.search(value):
        return "it has the format of an API key or token"
    if URL_USER_INFO.search(value):
        return "the URL carries a user name and password"
    if any(_looks_random(token) for token in TOKEN.findall(value)):
        return "it holds a long random token"
    return None


def _strings(raw: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(raw, dict):
        for key, value in raw.items():
            yield from _strings(value, (*loc, key))
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            yield from _strings(value, (*loc, index))
    elif isinstance(raw, str):
        yield loc, raw


def credentials_in_plain_fields(raw: dict[str, Any], secret_keys: set[str]) -> list[Problem]:
    """A value that looks like a credential in a field that is not secret, outside encrypted keys."""
    secret = {loc for loc, _ in secret_values(raw)}
    problems = []
    for loc, value in _strings({k: v for k, v in raw.items() if k not in secret_keys}):
        kind = credential_kind(value)
        if kind is None or any(loc[: len(s)] == s for s in secret):
            continue
        problems.append(
            Problem(
                format_path(loc),
                f"looks like a credential ({kind}) in plain text; remove it from the stack file and keep it in "
                f"Secrets Manager or run `pulumi config set --secret --path 'agent-platform:{format_path(loc)}' "
                "<value>`",
            )
        )
    return problems
