"""How every layered setting combines (environment defaults under a stack file, chart values under a stack's
overlays): one rule, so a Helm value and a settings default overlay the same way."""

from __future__ import annotations

from typing import Any


def deep_merge(base: Any, override: Any) -> Any:
    """Overlay `override` on `base`; mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else value
        return merged
    return override
