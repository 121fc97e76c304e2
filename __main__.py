"""agent-platform: load the stack's settings, build the stack, export the outputs contract."""

from pathlib import Path

import pulumi

from settings import load_from_pulumi
from stacks import data_guard, gc_policy
from stacks.compose import build_stack

settings = load_from_pulumi()  # before anything registers: a bad stack file is refused here
data_guard.before_up(pulumi.get_stack(), Path(__file__).resolve().parent)  # and a change that loses data
gc_policy.for_registration()
for key, value in build_stack(pulumi.get_stack(), settings).items():
    pulumi.export(key, value)
