"""Operator controls of an automatic release, as the commands that set them: no pull request, no file edit.

    python -m gates.release_control prod support-bot abort --by alice@example.com --reason "customer report"
    python -m gates.release_control prod support-bot promote --by alice@example.com --stage 2
    python -m gates.release_control prod support-bot break-glass --by alice@example.com

Prints the commands (and runs nothing): with the Pulumi Kubernetes Operator, a merge patch of the stack's
`Stack` object `spec.config` (JSON merge patch merges per agent, so other agents' controls stay); by hand,
`pulumi config set-all --path`. The next evaluation applies the control once and records who and when.
`break-glass` also prints the `kubectl annotate` that sets every exposed tenant's canary Ingress to weight 0
at once (ingress-nginx reloads within seconds), for when the loop itself is down.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from planning.feature_flags import in_canary_cohort
from planning.rollout import plan_rollout
from settings import SettingsError, StackSettings
from settings.stack_file import load

WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
CONFIG_KEY = "agent-platform:releases"
ACTIONS = ("promote", "abort", "retry", "pause", "resume", "break-glass")


@dataclass(frozen=True)
class Target:
    namespace: str
    ingress: str


def canary_ingresses(settings: StackSettings, agent_id: str) -> list[Target]:
    """The canary Ingress of every tenant that runs the agent's canary track, its waves too (names as
    CanaryRollout gives them)."""
    agent = next(a for a in settings.agents if a.id == agent_id)
    pct = settings.feature_flags.canary_percentage
    plan = plan_rollout(agent, settings.environment, settings.canary, lambda t: in_canary_cohort(t, pct))
    return [Target(settings.namespace(t), f"{agent_id}-canary") for t in agent.tenants if t in plan.canary_tenants]


def control_value(action: str, by: str, at: str, reason: str, stage: int | None) -> dict[str, object]:
    value: dict[str, object] = {"action": action, "by": by, "at": at}
    if reason:
        value["reason"] = reason
    if stage is not None:
        value["stage"] = stage
    return value


def commands(
    settings: StackSettings, stack: str, agent_id: str, action: str, by: str, at: str, reason: str, stage: int | None
) -> list[str]:
    control = control_value("abort" if action == "break-glass" else action, by, at, reason, stage)
    out: list[str] = []
    if action == "break-glass":
        out += [
            f"kubectl -n {t.namespace} annotate ingress {t.ingress} {WEIGHT_ANNOTATION}=0 --overwrite"
            for t in canary_ingresses(settings, agent_id)
        ]
    loop = settings.release_loop
    if loop.engine == "kubernetes_operator":
        patch = {"spec": {"config": {CONFIG_KEY: {agent_id: control}}}}
        out.append(
            f"kubectl -n {loop.namespace} patch stacks.pulumi.com {loop.stack_object_name(stack)} --type merge "
            f"-p {shlex.quote(json.dumps(patch, separators=(',', ':')))}"
        )
    pairs = " ".join(f"--plaintext {shlex.quote(f'releases.{agent_id}.{k}={v}')}" for k, v in control.items())
    out.append(f"pulumi config set-all --stack {stack} --path {pairs}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gates.release_control", description=__doc__.split("\n")[0])
    parser.add_argument("stack")
    parser.add_argument("agent")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--by", required=True, help="who asks (recorded in the rollout's history)")
    parser.add_argument("--reason", default="")
    parser.add_argument("--stage", type=int, default=None, help="promote: the stage to move to (the next one)")
    parser.add_argument("--at", default=None, help="when (UTC, default now); the control's identity")
    args = parser.parse_args(argv)
    try:
        settings = load(args.stack)
    except SettingsError as error:
        print("\n".join(error.lines), file=sys.stderr)
        return 2
    agent = next((a for a in settings.agents if a.id == args.agent), None)
    if agent is None or agent.rollout.progression != "automatic":
        automatic = [a.id for a in settings.agents if a.rollout.progression == "automatic"]
        print(
            f"Pulumi.{args.stack}.yaml: no agent {args.agent!r} with rollout.progression: automatic "
            f"(automatic: {', '.join(automatic) or 'none'})",
            file=sys.stderr,
        )
        return 2
    at = args.at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("\n".join(commands(settings, args.stack, args.agent, args.action, args.by, at, args.reason, args.stage)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
