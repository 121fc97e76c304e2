"""CrossGuard entry point: `pulumi preview --policy-pack policy`. Constructing the PolicyPack starts the
analyzer's gRPC server and blocks, so it happens only here."""

import sys
from pathlib import Path

# Pulumi runs this file from the pack's folder; the rules import `policy.*` and the project's settings.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
