"""Fields the API server silently drops are a diff on every `up`: the render must not set them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import STACKS
from tests.stacks.conftest import Rendered, stack_settings

# KEP-961 (kubernetes/enhancements#961): MaxUnavailableStatefulSet is alpha, off by default, from 1.24 and
# beta, on by default, from 1.35. With the gate off the API server drops
# `spec.updateStrategy.rollingUpdate.maxUnavailable` of a StatefulSet (dropDisabledFields); EKS enables no alpha gate.
MAX_UNAVAILABLE_STATEFULSET_DEFAULT_ON = (1, 35)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


@pytest.mark.parametrize("stack", STACKS)
def test_statefulsets_set_no_field_the_api_server_drops(data_render: Callable[[str], Rendered], stack: str) -> None:
    r = data_render(stack)
    statefulsets = r.kinds("StatefulSet")
    if not statefulsets:
        pytest.skip(f"{stack} renders no StatefulSet")
    if _version(stack_settings(stack).cluster.kubernetes_version) >= MAX_UNAVAILABLE_STATEFULSET_DEFAULT_ON:
        return
    dropped = [
        m["metadata"]["name"]
        for m in statefulsets
        if "maxUnavailable" in m["spec"].get("updateStrategy", {}).get("rollingUpdate", {})
    ]
    assert not dropped, f"maxUnavailable is dropped on Kubernetes < 1.35 (gate off): {dropped}"
