"""Pickling many dynamic providers in one process: a fleet's program creates one StageClock per agent stage,
an SloGate per gated stage and a RolloutState per agent, each pickled by the SDK when it is constructed."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from typing import Any

import pulumi
from pulumi.dynamic import Resource
from pulumi.dynamic import dynamic as sdk_dynamic

import gates
from gates.pickling import DynamicResource, pickler_restored, serialize_provider
from gates.slo_gate import SloGateProvider
from gates.stage_clock import STAGE_CLOCK_TYPE, FixedClock, StageClock, StageClockArgs
from testing.mocks import Recorder

# More providers than the SDK's own serializer pickles in one process before RecursionError (486 SloGate
# providers with pulumi 3.272.0: each call nests one more wrapper around the pickler).
FLEET = 1_000


def pickler_methods() -> tuple[Any, Any]:
    pickler: Any = pickle._Pickler
    return pickler.__dict__["_batch_setitems"], pickler.__dict__["save_dict"]


def test_a_fleet_of_providers_pickles_to_the_same_bytes_and_leaves_the_pickler_as_it_was() -> None:
    before = pickler_methods()
    provider = SloGateProvider(FixedClock("2025-01-06T10:00:00Z"))
    first = serialize_provider(provider)
    assert all(serialize_provider(provider) == first for _ in range(FLEET))
    assert pickler_methods() == before


def test_the_sdk_serializer_alone_leaves_its_wrapper_behind() -> None:
    """The defect the wrapper exists for: if a new SDK stops replacing the pickler's methods, this fails and
    gates/pickling.py can go."""
    before = pickler_methods()
    with pickler_restored():
        sdk_dynamic.serialize_provider(SloGateProvider(FixedClock("2025-01-06T10:00:00Z")))
        assert pickler_methods() != before
    assert pickler_methods() == before


class ClockMocks(Recorder):
    def outputs(self, args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
        return {"applied_at": "2025-01-06T10:00:00Z"} if args.typ == STAGE_CLOCK_TYPE else {}


@pulumi.runtime.test
def test_constructing_a_dynamic_resource_leaves_the_pickler_as_it_was() -> None:
    pulumi.runtime.set_mocks(ClockMocks(), project="agent-platform", stack="dev", preview=False)
    before = pickler_methods()
    clock = StageClock("support-bot-acme-clock", StageClockArgs("support-bot", 1, "1.5.0", "acme"))
    assert pickler_methods() == before
    return clock.applied_at.apply(lambda applied: None)


def test_every_dynamic_resource_of_the_gates_restores_the_pickler() -> None:
    resources = []
    for module in pkgutil.iter_modules(gates.__path__):
        loaded = importlib.import_module(f"gates.{module.name}")
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, Resource) and value.__module__ == loaded.__name__ and value is not DynamicResource:
                resources.append(value)
    assert {r.__name__ for r in resources} >= {"SloGate", "StageClock", "GaReadinessGate", "RolloutState"}
    assert [r.__name__ for r in resources if not issubclass(r, DynamicResource)] == []
