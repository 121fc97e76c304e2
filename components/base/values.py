"""Base of the small value types the components' Args carry.

A component owns the shape of what it takes; the stack settings validate the values and `stacks/` fills
these from them (`Value.of(settings_entry)` reads the fields by name), so no component imports settings.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict


class Value(BaseModel):
    """Frozen and strict: structural only, the checks on the values live in `settings/`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def of(cls, source: object) -> Self:
        """The fields of `source` this type declares, read by name (a settings entry, or any object)."""
        return cls.model_validate(source, from_attributes=True)
