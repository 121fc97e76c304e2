"""Ports the agent runtime image listens on; Services, probes, NetworkPolicies and settings checks use these."""

HTTP_PORT = 8000
METRICS_PORT = 9090
PUSHGATEWAY_PORT = 9091
