"""Cross-field rules for the add-ons a stack installs and the cluster objects that come with them."""

from __future__ import annotations

from collections.abc import Iterator

from settings.errors import Problem
from settings.stack import StackSettings


def ingress_issuers_exist(s: StackSettings) -> Iterator[Problem]:
    """With the add-ons installed, the stack creates the ClusterIssuers; an Ingress naming another gets no TLS."""
    if not s.cluster.install_addons:
        return
    known = sorted(s.cluster.cluster_issuers)
    for index, agent in enumerate(s.agents):
        ingress = agent.ingress
        if ingress is None or ingress.tls_secret or ingress.cluster_issuer in s.cluster.cluster_issuers:
            continue
        yield Problem(
            f"agents[{index}].ingress.cluster_issuer",
            f"{ingress.cluster_issuer!r} is not a ClusterIssuer this stack creates; allowed: "
            f"{', '.join(known) or 'none (add one to cluster.cluster_issuers)'}, or set ingress.tls_secret",
        )


RULES = [ingress_issuers_exist]
