"""Stacks deployed before the layout move hold their dynamic providers pickled under `providers.*`; the
engine's provider host unpickles them (dill) for every diff, read and delete, so every old module path a
pickle can name must keep importing to the same objects until every stack has run one `up` on the new
layout (the README's "Moved modules")."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

from gates.ga_gate import GaReadinessGateProvider
from gates.pickling import serialize_provider
from gates.slo_gate import SloGateProvider
from gates.stage_clock import StageClockProvider

ROOT = Path(__file__).resolve().parents[2]
# The layout move, new module <- old module, for every module whose objects were reachable from a provider.
MOVED = {
    "gates.slo_gate": "providers.slo_gate",
    "gates.ga_gate": "providers.ga_gate",
    "gates.stage_clock": "providers.stage_clock",
    "gates.prometheus": "providers.prometheus",
    "gates.decision": "providers.decision",
    "gates.queries": "providers.slo_queries",
    "gates.ga_checks": "providers.ga_checks",
    "gates.ga_evidence": "providers.ga_evidence",
}
PROVIDERS = [SloGateProvider, GaReadinessGateProvider, StageClockProvider]

# What the provider host does with a resource's `__provider` (pulumi/dynamic/__main__.py), in a fresh process.
UNPICKLE = """
import base64, sys, dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
print(type(provider).__module__ + "." + type(provider).__qualname__)
"""


@contextmanager
def before_the_move() -> Iterator[None]:
    """Every moved module's classes and functions named as they were, and only the old names importable in
    this process (the real old files are gone: only the shims on disk can serve them to a fresh process)."""
    import providers

    renamed: list[tuple[object, str]] = []
    saved = {old: sys.modules.get(old) for old in MOVED.values()}
    attributes = dict(vars(providers))
    for new, old in MOVED.items():
        module: ModuleType = sys.modules[new] if new in sys.modules else __import__(new, fromlist=["_"])
        for value in vars(module).values():
            if getattr(value, "__module__", None) == new:
                renamed.append((value, new))
                value.__module__ = old
        sys.modules[old] = module
        setattr(providers, old.split(".")[1], module)  # how dill finds a module: as its package's attribute
    try:
        yield
    finally:
        for value, new in renamed:
            value.__module__ = new  # type: ignore[attr-defined]
        for old, module in saved.items():
            if module is None:
                sys.modules.pop(old, None)
            else:
                sys.modules[old] = module
            name = old.split(".")[1]
            if name in attributes:
                setattr(providers, name, attributes[name])
            elif hasattr(providers, name):
                delattr(providers, name)


@pytest.mark.parametrize("cls", PROVIDERS, ids=[c.__name__ for c in PROVIDERS])
def test_a_provider_pickled_before_the_move_still_loads(cls: type) -> None:
    with before_the_move():
        state = serialize_provider(cls())
    raw = base64.b64decode(state)
    assert b"providers." in raw and b"gates." not in raw, "the pickle names only old modules, as old state does"
    done = subprocess.run(
        [sys.executable, "-c", UNPICKLE], input=state, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip() == f"{cls.__module__}.{cls.__qualname__}"
