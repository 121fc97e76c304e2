"""The RDS CA bundle a pod verifies its database's server certificate with (`sslmode=verify-full`).

The bundle is fetched when the pod starts, by a restricted init container, into a memory volume the consumer
mounts read-only: nothing is baked into an image or the render, and a rotated CA arrives with the next pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conventions.pods import SUPPORT_CONTAINER_RESOURCES, restricted_security_context

RDS_TRUSTSTORE = "https://truststore.pki.rds.amazonaws.com"
CA_VOLUME = "rds-ca"
CA_DIR = "/etc/rds-ca"
CA_FILE = "rds-ca.pem"


def fetch_ca(path: str) -> str:
    """Shell lines that write `$RDS_CA_BUNDLE` to `path`.

    They refuse plain HTTP and TLS below 1.2, follow no redirect, and fail unless certificates arrived: the
    trust anchor is authenticated by the truststore's own certificate, never taken from whoever answers first.
    """
    return (
        f'curl --proto =https --tlsv1.2 -fsS -o {path} "$RDS_CA_BUNDLE"\n'
        f'grep -q -- "-----BEGIN CERTIFICATE-----" {path}\n'
    )


def rds_ca_bundle(region: str) -> str:
    """The CA bundle of the database's own region, not the global one that trusts every region's CAs.

    AWS serves the bundles only over TLS (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/
    UsingWithRDS.SSL.html#UsingWithRDS.SSL.RegionCertificates).
    """
    return f"{RDS_TRUSTSTORE}/{region}/{region}-bundle.pem"


CA_PATH = f"{CA_DIR}/{CA_FILE}"
"""Where an agent finds the bundle: `sslrootcert` of its `DATABASE_URL`."""


@dataclass(frozen=True)
class RdsCaFetch:
    """An agent pod's init container that fetches the bundle of its tenant's data region."""

    region: str
    image: str

    def volume(self) -> dict[str, Any]:
        return {"name": CA_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}

    def mount(self) -> dict[str, Any]:
        return {"name": CA_VOLUME, "mountPath": CA_DIR, "readOnly": True}

    def init_container(self, uid: int) -> dict[str, Any]:
        return {
            "name": "fetch-rds-ca",
            "image": self.image,
            "imagePullPolicy": "IfNotPresent",
            "command": ["/bin/sh", "-c", "set -eu\n" + fetch_ca(CA_PATH)],
            "env": [{"name": "RDS_CA_BUNDLE", "value": rds_ca_bundle(self.region)}],
            "volumeMounts": [{"name": CA_VOLUME, "mountPath": CA_DIR}],
            # The LimitRange's container minimum applies to init containers too: the support size meets it.
            "resources": {"requests": SUPPORT_CONTAINER_RESOURCES, "limits": SUPPORT_CONTAINER_RESOURCES},
            "securityContext": restricted_security_context(uid),
        }
