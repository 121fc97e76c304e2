"""Every custom object of every stack is of a version and kind its add-on's pinned chart serves (that it waits
for the release is `test_render.py::test_custom_objects_wait_for_the_release_that_installs_their_kind`).

The API server answers an object whose group/version no installed CRD serves with "no matches for kind";
which versions a chart serves is read from its CRDs (`conventions/chart_apis.py` cites them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conventions.chart_apis import SERVED, groups
from tests.conftest import STACKS
from tests.stacks.conftest import Rendered, stack_settings

# Groups the API server itself serves (Kubernetes 1.31); anything else needs a CRD.
BUILTIN_GROUPS = {
    "core",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
}


def custom_objects(r: Rendered) -> Iterator[tuple[dict[str, Any], str, str]]:
    """(resource, group/version, kind) of every object whose kind a CRD defines."""
    for resource in r.resources:
        token = resource["type"]
        if not token.startswith("kubernetes:") or token.startswith("kubernetes:helm.sh/"):
            continue
        _, api, kind = token.split(":")
        if api.rpartition("/")[0] not in BUILTIN_GROUPS:
            yield resource, api, kind


def _installer(stack: str, api: str) -> str:
    group = api.rpartition("/")[0]
    owners = [name for name, a in stack_settings(stack).cluster.addons.items() if group in a.crd_groups]
    assert len(owners) == 1, f"{stack}: {api} is installed by {owners or 'no add-on'}; exactly one must list it"
    return owners[0]


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_object_is_served_by_its_pinned_chart(data_render: Callable[[str], Rendered], stack: str) -> None:
    r = data_render(stack)
    addons = stack_settings(stack).cluster.addons
    seen = 0
    for resource, api, kind in custom_objects(r):
        addon = addons[_installer(stack, api)]
        served = SERVED.get((addon.chart, addon.version))
        assert served is not None, f"read the CRDs of {addon.chart} {addon.version} into conventions/chart_apis.py"
        assert kind in served.get(api, ()), (
            f"{resource['name']}: {addon.chart} {addon.version} does not serve {kind} at {api}; "
            f"it serves {kind} at {sorted(a for a, kinds in served.items() if kind in kinds)}"
        )
        seen += 1
    assert seen, f"{stack} renders no custom object: the check above checked nothing"


@pytest.mark.parametrize("stack", STACKS)
def test_addon_crd_groups_are_the_groups_its_chart_serves(stack: str) -> None:
    """`crd_groups` decides what waits for which release; it must name exactly the groups the chart installs."""
    for name, addon in stack_settings(stack).cluster.addons.items():
        served = SERVED.get((addon.chart, addon.version))
        if served is None:
            assert not addon.crd_groups, f"{name}: read the CRDs of {addon.chart} {addon.version}"
            continue
        assert set(addon.crd_groups) == groups(served), name
