"""Exceptions recorded in `policy/exceptions.yaml`: the only way past a mandatory rule, reviewed like code."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path

import yaml

EXCEPTIONS_FILE = Path(__file__).resolve().with_name("exceptions.yaml")


@dataclass(frozen=True)
class RuleException:
    rule: str
    resource: str
    reason: str
    owner: str
    expires: dt.date

    def covers(self, rule: str, urn: str | None, today: dt.date) -> bool:
        return self.rule == rule and urn is not None and fnmatchcase(urn, self.resource) and today <= self.expires


def parse(document: object) -> list[RuleException]:
    """Entries of the file; a malformed one is an error rather than a silently broader exception."""
    if document is None:
        return []
    entries = document.get("exceptions") or [] if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"{EXCEPTIONS_FILE.name}: `exceptions` must be a list")
    found = []
    for index, entry in enumerate(entries):
        fields = ("rule", "resource", "reason", "owner", "expires")
        missing = [f for f in fields if not isinstance(entry, dict) or not entry.get(f)]
        if missing:
            raise ValueError(f"{EXCEPTIONS_FILE.name}: exceptions[{index}] has no {', '.join(missing)}")
        expires = entry["expires"]
        if not isinstance(expires, dt.date):
            raise ValueError(f"{EXCEPTIONS_FILE.name}: exceptions[{index}].expires {expires!r} is not a date")
        found.append(RuleException(entry["rule"], entry["resource"], entry["reason"], entry["owner"], expires))
    return found


@cache
def load(path: Path = EXCEPTIONS_FILE) -> tuple[RuleException, ...]:
    return tuple(parse(yaml.safe_load(path.read_text()) if path.exists() else None))


def find(rule: str, urn: str | None, today: dt.date | None = None) -> RuleException | None:
    day = today or dt.date.today()
    return next((e for e in load() if e.covers(rule, urn, day)), None)
