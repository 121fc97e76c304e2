"""Add-on settings problems: one line naming the field and what is allowed."""

from __future__ import annotations

import pytest

from settings import SettingsError, validate
from tests.settings.test_observability_checks import dev_raw


def test_an_ingress_must_name_an_issuer_the_stack_creates() -> None:
    raw = dev_raw()
    agents = [dict(a) for a in raw["agents"]]
    index = 0
    agents[index]["ingress"] = {"domain": "agents.example.com", "cluster_issuer": "letsencrypt-staging"}
    cluster = {**raw["cluster"], "install_addons": True}
    with pytest.raises(SettingsError) as error:
        validate("dev", {**raw, "cluster": cluster, "agents": agents})
    assert error.value.lines == [
        f"Pulumi.dev.yaml: agent-platform:agents[{index}].ingress.cluster_issuer: 'letsencrypt-staging' is not a "
        "ClusterIssuer this stack creates; allowed: letsencrypt-prod, or set ingress.tls_secret"
    ]
    # Without the add-ons the cluster's own cert-manager holds the issuers.
    assert validate("dev", {**raw, "agents": agents}).agents[index].ingress is not None
