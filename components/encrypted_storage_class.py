"""EncryptedStorageClass: the default StorageClass every claim of the workloads uses.

gp3 through the EBS CSI driver, encrypted with the stack's key; `WaitForFirstConsumer` so a volume is
created in the zone its pod is scheduled to. Protected stacks retain released volumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.base.kubernetes_object import KubernetesObject

PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class EncryptedStorageClassArgs:
    name: str
    kms_key_arn: pulumi.Input[str]
    retain: bool
    backup_plan: str
    """Tag on every volume, so the AWS Backup selection that matches it covers the volumes too."""


class EncryptedStorageClass(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: EncryptedStorageClassArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("agent-platform:components:EncryptedStorageClass", name, None, opts)
        self.storage_class = KubernetesObject(
            f"{name}-class",
            api_version="storage.k8s.io/v1",
            kind="StorageClass",
            metadata={"name": args.name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            provisioner=PROVISIONER,
            parameters={
                "type": "gp3",
                "encrypted": "true",
                "kmsKeyId": args.kms_key_arn,
                "csi.storage.k8s.io/fstype": "ext4",
                "tagSpecification_1": f"backup-plan={args.backup_plan}",
            },
            volumeBindingMode="WaitForFirstConsumer",
            reclaimPolicy="Retain" if args.retain else "Delete",
            allowVolumeExpansion=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = self.storage_class.metadata.apply(lambda m: m["name"])
        self.register_outputs({"name": self.name})
