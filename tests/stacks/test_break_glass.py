"""The break-glass of an automatic release, applied to the objects the render writes.

ingress-nginx sends a canary Ingress `canary-weight` out of `canary-weight-total` of the host's requests,
and reads the weight only on an Ingress annotated `canary: "true"` (kubernetes/ingress-nginx
docs/user-guide/nginx-configuration/annotations.md, "Canary"); the controller watches Ingresses and
reloads within seconds, so an annotation written with kubectl takes effect without any `up`.
"""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path

import pytest

from gates.release_control import WEIGHT_ANNOTATION, commands
from settings import validate
from tests.conftest import load_manifests, render_stack
from tests.settings.test_settings import stack_raw
from tests.stacks.test_render import edit_stack, project_copy

NGINX = "nginx.ingress.kubernetes.io"
AT = "2026-01-05T09:00:00Z"


def automatic_staging(loop: dict | None = None):
    raw = copy.deepcopy(stack_raw("staging"))
    raw["agents"][0]["rollout"].pop("stage")
    raw["agents"][0]["rollout"]["progression"] = "automatic"
    if loop:
        raw["release_loop"] = loop
    return validate("staging", raw)


def make_automatic(config: dict) -> None:
    rollout = config["agent-platform:agents"][0]["rollout"]
    rollout.pop("stage", None)
    rollout["progression"] = "automatic"


@pytest.fixture(scope="module")
def automatic_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """staging rendered with support-bot's release automatic: its cohort at the first stage, its waves waiting."""
    tmp = tmp_path_factory.mktemp("automatic")
    project = project_copy(tmp)
    edit_stack(project, "staging", make_automatic)
    result = render_stack("staging", tmp / "out", cwd=project)
    assert result.returncode == 0, result.stderr
    return tmp / "out" / "staging"


def annotate(obj: dict, command: str) -> dict:
    """What `kubectl annotate --overwrite KEY=VALUE` does to the object."""
    words = shlex.split(command)
    assert words[:2] == ["kubectl", "-n"] and words[3:5] == ["annotate", "ingress"] and "--overwrite" in words
    key, value = words[6].split("=", 1)
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("annotations", {})[key] = value
    return out


def test_break_glass_sends_every_canary_ingress_no_traffic(automatic_render: Path) -> None:
    """The cohort's and every later wave's: a wave that opens before the abort is applied serves too."""
    manifests = load_manifests(automatic_render)
    settings = automatic_staging()
    printed = commands(settings, "staging", "support-bot", "break-glass", "alice", AT, "pager", None)
    annotations = [c for c in printed if " annotate " in c]
    assert annotations, printed
    for command in annotations:
        words = shlex.split(command)
        namespace, name = words[2], words[5]
        path = Path(namespace) / f"ingress-{name}.yaml"
        assert path in manifests, f"{command}: no such Ingress in the render"
        before = manifests[path]
        assert before["metadata"]["annotations"][f"{NGINX}/canary"] == "true"
        after = annotate(before, command)
        assert after["metadata"]["annotations"][WEIGHT_ANNOTATION] == "0"
        assert after["metadata"]["annotations"][f"{NGINX}/canary-weight-total"] == "100"
    exposed = {
        p.parts[0] for p, m in manifests.items() if m.get("kind") == "Ingress" and p.name.endswith("-canary.yaml")
    }
    assert {shlex.split(c)[2] for c in annotations} == exposed
    weights = {
        manifests[Path(ns) / "ingress-support-bot-canary.yaml"]["metadata"]["annotations"][WEIGHT_ANNOTATION]
        for ns in exposed
    }
    assert weights == {"0", "5"}, "the render has the cohort serving and the later waves waiting"
    # ... and the abort that keeps it at 0 once the loop runs again, recorded with who and when.
    config = printed[-1]
    assert config.startswith("pulumi config set-all --stack staging --path ")
    assert "releases.support-bot.action=abort" in config and "releases.support-bot.by=alice" in config


def test_with_the_operator_the_control_is_a_merge_patch_of_the_stack_object() -> None:
    loop = {
        "engine": "kubernetes_operator",
        "project_repo": "https://github.com/greenlang/agent-platform.git",
        "role_arn": "arn:aws:iam::111111111111:role/agent-platform-release",
        "access_token_secret": {"name": "pulumi-api", "key": "accessToken"},
    }
    settings = automatic_staging(loop)
    printed = commands(settings, "staging", "support-bot", "promote", "bob", AT, "", 1)
    patch = next(c for c in printed if " patch stacks.pulumi.com " in c)
    words = shlex.split(patch)
    assert words[:3] == ["kubectl", "-n", "pulumi-operator"] and words[5] == "agent-platform-staging"
    body = json.loads(words[words.index("-p") + 1])
    control = body["spec"]["config"]["agent-platform:releases"]["support-bot"]
    assert control == {"action": "promote", "by": "bob", "at": AT, "stage": 1}
    # The value the program reads back is a valid control for that agent.
    raw = copy.deepcopy(stack_raw("staging"))
    raw["agents"][0]["rollout"].pop("stage")
    raw["agents"][0]["rollout"]["progression"] = "automatic"
    raw["releases"] = body["spec"]["config"]["agent-platform:releases"]
    assert validate("staging", raw).releases["support-bot"].stage == 1
