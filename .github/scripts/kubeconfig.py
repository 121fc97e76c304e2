"""Write the kubeconfig a job needs for one stack:

    python .github/scripts/kubeconfig.py staging     # runs aws eks update-kubeconfig

The context is named as the program's Kubernetes provider selects it: `cluster.context` when the stack file
sets one (dev: `agents-dev`), else the stack's name (staging and prod take their kubeconfig from the cluster
stack and use this one only for the gates). update-kubeconfig also makes it the current context, which the
gates' API-server proxy reads (gates/transport.py).
"""

from __future__ import annotations

import subprocess
import sys

from policy.stack_settings import load


def command(stack: str) -> list[str]:
    cluster = load(stack).cluster
    return ["aws", "eks", "update-kubeconfig", "--name", cluster.name, "--alias", cluster.context or stack]


if __name__ == "__main__":
    sys.exit(subprocess.run(command(sys.argv[1])).returncode)
