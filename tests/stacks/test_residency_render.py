"""Where EU tenants' workloads and every copy of their data are, as EBS, AWS Backup and tags place them.

EU tenants' pods run in the one cluster, in `primary_region`; their database, cache, bucket, secrets and
backups are in the EU site. A PersistentVolumeClaim becomes an EBS volume in the zone of the node its pod is
scheduled to (EBS CSI with `WaitForFirstConsumer`), so in the cluster's region; the StorageClass tags each volume
`backup-plan=<primary site>`, which the primary AWS Backup plan selects and copies to `data.replication_region`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from settings.base import is_eu_region
from tests.conftest import STACKS
from tests.stacks.conftest import Rendered


@pytest.mark.parametrize("stack", STACKS)
def test_no_eu_tenant_keeps_volumes_in_a_cluster_outside_the_eu(
    data_render: Callable[[str], Rendered], stack: str
) -> None:
    r = data_render(stack)
    s = r.settings
    if is_eu_region(s.primary_region):
        return
    eu_namespaces = {t.namespace(s.environment) for t in s.tenants if t.data_residency == "eu"}
    claims = [
        f"{m['metadata']['namespace']}/{m['kind']}/{m['metadata']['name']}"
        for m in r.manifests.values()
        if m["metadata"].get("namespace") in eu_namespaces
        and (
            m["kind"] == "PersistentVolumeClaim"
            or (m["kind"] == "StatefulSet" and m["spec"].get("volumeClaimTemplates"))
        )
    ]
    assert not claims, f"EU tenants' volumes would be EBS volumes in {s.primary_region}: {claims}"


@pytest.mark.parametrize("stack", STACKS)
def test_data_site_tags_say_where_the_resource_is(data_render: Callable[[str], Rendered], stack: str) -> None:
    """`data-site` is how an operator and a cost or compliance report tell EU data from the rest."""
    r = data_render(stack)
    if is_eu_region(r.settings.primary_region):
        return
    checked = 0
    for resource in r.resources:
        site = (resource["inputs"].get("tags") or {}).get("data-site")
        if site is None or not resource["type"].startswith("aws:") or resource["type"].startswith("aws:iam/"):
            continue
        assert (site == "eu") == is_eu_region(r.region(resource)), (
            f"{resource['name']} is tagged data-site={site} in {r.region(resource)}"
        )
        checked += 1
    assert checked
