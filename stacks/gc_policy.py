"""Garbage-collector policy for one program run.

A Pulumi program only accumulates: every resource, its Outputs and their futures stay alive until the
engine is done, so a collection finds almost nothing to free. The one steady source of cycles is the SDK
itself (each `contains_unknowns` call leaves a self-referencing closure, a few dozen per resource), and
collecting it costs more than keeping it: with young collections every 100,000 allocations the collector
still took about 15% of an offline render at 6,500 resources, for 37 MB (5%) of peak memory saved
(`benchmarks/render_scale.py`). CPython's default policy, with full passes over the growing heap, took
about 45%. So the collector stays off while resources register; reference counting still frees
everything that is not a cycle.
"""

from __future__ import annotations

import gc


def for_registration() -> None:
    """Objects alive now (modules, settings) are never garbage: keep them out of every later pass.

    Whatever an earlier render in the same process left (as in the tests) is unfrozen and collected
    first, so freezing never keeps it alive.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.disable()


def after_registration() -> None:
    """For a process that goes on after a render (tests, benchmarks): the collector runs again, without
    a pass over the render's objects; they stay frozen until the next render collects them."""
    gc.freeze()
    gc.enable()
