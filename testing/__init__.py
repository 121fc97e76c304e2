"""Test-only helpers that stand in for what the tests cannot reach (the AWS API) and drive the real Pulumi CLI."""
