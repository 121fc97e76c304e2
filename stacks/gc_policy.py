"""Garbage-collector policy for one program run.

A Pulumi program only accumulates: every resource, its Outputs and their futures stay alive until the
engine is done. CPython's default policy runs a collection every 700 new container objects and a full
one every hundred of those, each full pass walking the whole (growing) heap: measured, that is about 45% of
an offline render at 2,700 resources and grows with the fleet (`benchmarks/render_scale.py`). Collecting
young objects every 100,000 allocations instead keeps short-lived cycles in check at a fraction of the cost.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000
MIDDLE_THRESHOLD = 50
OLD_THRESHOLD = 1_000


def for_registration() -> None:
    """Objects alive now (modules, settings) are never garbage: keep them out of every later pass.

    Garbage from before (an earlier render in the same process, as in the tests) is collected first,
    so freezing never keeps it alive.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
