"""agent-platform: load the stack's settings, build the stack, export the outputs contract."""

import pulumi

from settings import load_from_pulumi
from stacks import gc_policy
from stacks.compose import build_stack

gc_policy.for_registration()
settings = load_from_pulumi()
for key, value in build_stack(pulumi.get_stack(), settings).items():
    pulumi.export(key, value)
