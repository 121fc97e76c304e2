"""Type tokens of the project's own dynamic resources, for the code that registers them and the rules that
read them in a stack's resources (the policy pack): `pulumi-python:dynamic/<module>:<name>`."""

from __future__ import annotations

ROLLOUT_STATE_TYPE = "pulumi-python:dynamic/agent-platform:RolloutState"
