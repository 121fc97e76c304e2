"""Kubernetes label keys the components set and the policy pack, the render and the data guard read.

A key written as a literal in two places is two facts that can drift: every layer takes them from here.
"""

APP = "app"
AGENT_ID = "agent-id"
TENANT_ID = "tenant-id"
ENVIRONMENT = "environment"
SLA_TIER = "sla-tier"
DATA_RESIDENCY = "data-residency"
TRACK = "track"
VERSION = "version"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "pulumi"
"""The value of MANAGED_BY on every object this program owns."""
POD_SECURITY = "pod-security.kubernetes.io"
"""Prefix of the Pod Security admission labels: `<prefix>/<mode>` and `<prefix>/<mode>-version`."""
