"""StageClock: records, in state, when a rollout stage was applied.

The gates take their evidence window from this time, never from the program's clock, so a render or a
`preview` never sees a changing input. `create` stores the time; any change of agent, tenant, stage or
canary version replaces the resource, which stores a new time.

    clock = StageClock(f"{name}-stage-clock", StageClockArgs(agent_id="support-bot", tenant_id="acme",
                       stage=1, canary_version="1.5.0"), opts)
    clock.applied_at  # Output[str], ISO 8601 UTC, e.g. "2025-05-01T10:00:00Z"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from gates.pickling import DynamicResource

STAGE_CLOCK_TYPE = "pulumi-python:dynamic/agent-platform:StageClock"
Clock = Callable[[], datetime]
KEYS = ("agent_id", "tenant_id", "stage", "canary_version")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant: tests, and reproducible evaluations (`--at` in the gate CLI)."""

    at: str

    def __call__(self) -> datetime:
        return parse_time(self.at)


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; write it as UTC, e.g. 2025-05-01T10:00:00Z")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StageClockProvider(ResourceProvider):
    serialize_as_secret_always = False

    def __init__(self, clock: Clock = system_clock):
        super().__init__()
        self.clock = clock

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = {key: props.get(key) for key in KEYS}
        applied_at = format_time(self.clock())
        stage_id = f"{inputs['agent_id']}/{inputs['tenant_id'] or '*'}/{inputs['stage']}@{applied_at}"
        return CreateResult(stage_id, {**inputs, "applied_at": applied_at})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Any change of input is a new stage (a new time); nothing is ever updated in place."""
        changed = [key for key in KEYS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """`diff` never asks for one; should the engine call it anyway, the stage keeps its time.

        (The SDK's default update returns no outputs, which would erase `applied_at` and restart the
        gates' evidence window.)
        """
        return UpdateResult({**{key: news.get(key) for key in KEYS}, "applied_at": olds.get("applied_at")})


@dataclass(frozen=True)
class StageClockArgs:
    agent_id: pulumi.Input[str]
    stage: pulumi.Input[int]
    canary_version: pulumi.Input[str]
    tenant_id: pulumi.Input[str] | None = None


class StageClock(DynamicResource, module="agent-platform", name="StageClock"):
    applied_at: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: StageClockArgs,
        opts: pulumi.ResourceOptions | None = None,
        clock: Clock = system_clock,
    ):
        props = {
            "agent_id": args.agent_id,
            "tenant_id": args.tenant_id,
            "stage": args.stage,
            "canary_version": args.canary_version,
            "applied_at": None,
        }
        super().__init__(StageClockProvider(clock), name, props, opts)
