"""Apply a function to a value that is usually known when the program runs, and an Output only when it is not.

A release, a rollout outcome or a replica count waits on the engine only behind a gate (a promotion, a
weight from the verdict); otherwise it is plain. Each Output costs futures, tasks and a walk of its value
per resource at registration, so plain values stay plain: the registered inputs are the same either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pulumi

T = TypeVar("T")
U = TypeVar("U")


def lift(value: pulumi.Input[T], fn: Callable[[T], U]) -> pulumi.Input[U]:
    """`fn(value)` now when `value` is plain; `value.apply(fn)` when it is an Output."""
    if isinstance(value, pulumi.Output):
        return value.apply(fn)
    return fn(value)  # type: ignore[arg-type]


def lift_all(values: Sequence[pulumi.Input[Any]], fn: Callable[[list[Any]], U]) -> pulumi.Input[U]:
    """`fn([values...])` now when none is an Output; through `Output.all` otherwise."""
    if any(isinstance(value, pulumi.Output) for value in values):
        return pulumi.Output.all(*values).apply(fn)
    return fn(list(values))
