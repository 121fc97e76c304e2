"""The Pulumi Kubernetes Operator `Stack` each environment renders for its own evaluation loop.

Validated against the operator's CRD (tests/crds/pulumi.com_stacks_v1.json, from
pulumi/pulumi-kubernetes-operator deploy/crds/pulumi.com_stacks.yaml) and against the operator's rules in
operator/api/pulumi/shared/stack_types.go: a commit that already succeeded is run again only with
`continueResyncOnCommitMatch: true`, and `resyncFrequencySeconds` under 60 counts as 60.
"""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest

from components.release_loop import ReleaseLoop, ReleaseLoopArgs
from settings import SettingsError, validate
from settings.release_loop import ReleaseLoop as LoopSettings
from testing.mocks import Recorder
from tests.manifest_schemas import validate_objects
from tests.settings.test_settings import stack_raw

STACK_TYPE = "kubernetes:pulumi.com/v1:Stack"
OPERATOR_MIN_RESYNC = 60

LOOP = {
    "engine": "kubernetes_operator",
    "organization": "greenlang",
    "project_repo": "https://github.com/greenlang/agent-platform.git",
    "role_arn": "arn:aws:iam::111111111111:role/agent-platform-release",
    "access_token_secret": {"name": "pulumi-api", "key": "accessToken"},
    "git_auth_secret": "agent-platform-git",
}


def render(stack: str, loop: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = copy.deepcopy(stack_raw(stack)) | {"release_loop": loop}
    settings = validate(stack, raw)
    mocks = Recorder()
    pulumi.runtime.set_mocks(mocks, project="agent-platform", stack=stack, preview=False)
    pulumi.runtime.test(lambda: ReleaseLoop("release-loop", ReleaseLoopArgs(stack, settings.release_loop)).urn)()
    return {t: inputs for t, inputs in mocks.last_of_each_type().items() if t.startswith("kubernetes:")}


def operator_runs_again(spec: dict[str, Any]) -> int | None:
    """Seconds between two runs at the same commit, as the operator schedules them; None: it never does."""
    if not spec.get("continueResyncOnCommitMatch"):
        return None
    return max(OPERATOR_MIN_RESYNC, int(spec.get("resyncFrequencySeconds") or 0))


@pytest.mark.parametrize(("stack", "every"), [("dev", 600), ("staging", 300), ("prod", 120)])
def test_each_environment_renders_a_valid_stack_that_runs_again_at_its_interval(stack: str, every: int) -> None:
    objects = render(stack, LOOP)
    assert validate_objects(list(objects.values())) == {}
    spec = objects[STACK_TYPE]["spec"]
    assert spec["stack"] == f"greenlang/{stack}"
    assert operator_runs_again(spec) == every
    assert spec["serviceAccountName"] == "agent-platform-release"
    assert spec["envRefs"] == {
        "PULUMI_ACCESS_TOKEN": {"type": "Secret", "secret": {"name": "pulumi-api", "key": "accessToken"}}
    }
    assert spec["gitAuth"]["accessToken"]["secret"]["name"] == "agent-platform-git"
    account = objects["kubernetes:core/v1:ServiceAccount"]
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": LOOP["role_arn"]}
    binding = objects["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == "system:auth-delegator"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "agent-platform-release", "namespace": "pulumi-operator"}
    ]


def test_a_flux_source_and_a_self_managed_backend() -> None:
    loop = {k: v for k, v in LOOP.items() if k not in {"project_repo", "access_token_secret", "git_auth_secret"}}
    loop |= {
        "flux_source": {"name": "agent-platform", "dir": "."},
        "backend": "s3://greenlang-pulumi-state",
        "passphrase_secret": {"name": "pulumi-passphrase", "key": "passphrase"},
    }
    spec = render("prod", loop)[STACK_TYPE]
    assert validate_objects([spec]) == {}
    assert spec["spec"]["fluxSource"]["sourceRef"]["kind"] == "GitRepository"
    assert "projectRepo" not in spec["spec"]
    assert set(spec["spec"]["envRefs"]) == {"PULUMI_CONFIG_PASSPHRASE"}


def test_the_crd_model_refuses_what_the_operator_would_not_read() -> None:
    spec = render("prod", LOOP)[STACK_TYPE]
    misspelt = copy.deepcopy(spec)
    misspelt["spec"]["resyncFrequency"] = 120
    wrong_type = copy.deepcopy(spec)
    wrong_type["spec"]["resyncFrequencySeconds"] = "2m"
    no_stack = copy.deepcopy(spec)
    del no_stack["spec"]["stack"]
    errors = validate_objects([misspelt, wrong_type, no_stack])
    assert "unknown fields: spec.resyncFrequency" in errors[0]
    assert "is not of type 'integer'" in errors[1]
    assert "'stack' is a required property" in errors[2]


def test_without_resync_on_commit_match_nothing_looks_again() -> None:
    spec = render("prod", LOOP)[STACK_TYPE]["spec"]
    assert operator_runs_again({**spec, "continueResyncOnCommitMatch": False}) is None
    assert operator_runs_again({**spec, "resyncFrequencySeconds": 30}) == OPERATOR_MIN_RESYNC


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"role_arn": None}, "needs role_arn"),
        ({"project_repo": None}, "exactly one of project_repo and flux_source"),
        ({"passphrase_secret": {"name": "p", "key": "k"}}, "exactly one of passphrase_secret"),
        ({"resync_seconds": 30}, "greater than or equal to 60"),
    ],
)
def test_a_loop_that_could_not_run_is_refused_with_one_line(change: dict[str, Any], message: str) -> None:
    raw = copy.deepcopy(stack_raw("prod")) | {"release_loop": {**LOOP, **change}}
    with pytest.raises(SettingsError) as caught:
        validate("prod", raw)
    assert len(caught.value.lines) == 1 and message in caught.value.lines[0]
    assert caught.value.lines[0].startswith("Pulumi.prod.yaml: agent-platform:release_loop")


def test_the_default_is_no_loop() -> None:
    assert LoopSettings().engine == "none"
