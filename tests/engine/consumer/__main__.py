"""Another team's program: it reads agent-platform's stack outputs with a StackReference, the way the
README's outputs contract shows (config `platform` names the stack), and exports what it read."""

import pulumi

platform = pulumi.StackReference(pulumi.Config().require("platform"))
tenants = platform.require_output("tenants")
pulumi.export("acme_namespace", tenants.apply(lambda t: t["acme"]["namespace"]))
for name in ("schema_version", "environment", "tenants", "data", "agents", "observability"):
    pulumi.export(name, platform.require_output(name))
