"""The agent-platform guardrails: one validate function per rule, run by CrossGuard and offline alike."""
