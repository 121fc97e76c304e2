"""CrossGuard entry point: `pulumi preview --policy-pack policy`. Constructing the PolicyPack starts the
analyzer's gRPC server and blocks, so it happens only here."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
