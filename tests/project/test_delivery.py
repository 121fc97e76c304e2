"""The delivery workflows and the scripts they call: actionlint clean, pinned and least-privilege; the
rollback edit changes only the one flag; the change detectors and image lister read what they should."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION_FILES = [*WORKFLOWS, ROOT / ".github" / "actions" / "setup" / "action.yml"]
SCRIPTS = ROOT / ".github" / "scripts"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve annotations through the module registry
    spec.loader.exec_module(module)
    return module


def test_actionlint_passes() -> None:
    binary = shutil.which("actionlint") or str(Path(sys.executable).with_name("actionlint"))
    result = subprocess.run([binary, "-color=false"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def uses_lines() -> list[tuple[str, str]]:
    return [
        (path.name, line.strip())
        for path in ACTION_FILES
        for line in path.read_text().splitlines()
        if re.match(r"^\s*(- )?uses:", line)
    ]


@pytest.mark.parametrize(("file", "line"), uses_lines(), ids=lambda v: str(v)[:60])
def test_third_party_actions_are_pinned_to_a_commit(file: str, line: str) -> None:
    ref = line.split("uses:", 1)[1].strip()
    if ref.startswith("./"):
        return
    assert re.match(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$", ref), f"{file}: {ref}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_defaults_to_read_only_and_never_uses_long_lived_aws_keys(path: Path) -> None:
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "configure-aws-credentials" in step.get("uses", ""):
                assert "role-to-assume" in step["with"]
                assert job["permissions"].get("id-token") == "write"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_event_data_is_interpolated_into_scripts(path: Path) -> None:
    for job in yaml.safe_load(path.read_text())["jobs"].values():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}: pass values through env, not into run:"


def pulumi_steps() -> list[tuple[str, dict]]:
    return [
        (f"{path.name}:{name}", step)
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("pulumi/actions@")
    ]


def test_every_pulumi_cli_install_is_the_version_of_the_pinned_sdk() -> None:
    """pulumi/actions installs `pulumi-version`, default "^3" (its action.yml and src/config.ts
    makeInstallationConfig): unset, every run takes the newest CLI while the SDK stays pinned."""
    (sdk,) = re.findall(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), flags=re.M)
    steps = pulumi_steps()
    assert len(steps) >= 4
    for where, step in steps:
        assert str((step.get("with") or {}).get("pulumi-version")) == sdk, where


def test_no_job_with_a_write_token_leaves_it_in_the_checkout() -> None:
    """actions/checkout's `persist-credentials` defaults to true: the job token is written into .git/config
    (http.<server>.extraheader, its action.yml and src/git-auth-helper.ts), readable by every later step,
    including the packages setup installs."""
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if "write" not in (job.get("permissions") or {}).values():
                continue
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name}:{name}"


def runs_up(job: dict) -> bool:
    for step in job.get("steps", []):
        if "pulumi/actions" in step.get("uses", "") and (step.get("with") or {}).get("command") == "up":
            return True
        if re.search(r"\bpulumi up\b", step.get("run", "")):
            return True
    return False


def up_jobs() -> dict[str, dict]:
    return {
        f"{path.name}:{name}": job
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
        if runs_up(job)
    }


def group_of(job: dict, **context: str) -> str:
    group = job["concurrency"]["group"]
    for key, value in context.items():
        group = group.replace("${{ needs.validate.outputs." + key + " }}", value)
    return group.lower()  # GitHub: "The concurrency group name is case insensitive"


class Concurrency:
    """GitHub Actions concurrency as documented ("Control the concurrency of workflows and jobs",
    https://docs.github.com/en/actions/using-jobs/using-concurrency): at most one running and one pending job
    per group; a job queued while another of its group runs is pending, and "any existing pending job ... in
    the same concurrency group ... will be canceled and the new queued job ... will take its place". A job
    waiting for an environment's reviewers is counted as holding its group (the cautious reading)."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.cancelled: list[str] = []

    def queue(self, job: str, group: str) -> None:
        if group not in self.running:
            self.running[group] = job
            return
        if group in self.pending:
            self.cancelled.append(self.pending[group])
        self.pending[group] = job

    def finish(self, group: str) -> None:
        del self.running[group]
        if group in self.pending:
            self.running[group] = self.pending.pop(group)


def test_every_deploy_of_a_stack_shares_one_group_and_never_cancels_one_in_flight() -> None:
    jobs = up_jobs()
    assert group_of(jobs["deploy.yml:up-staging"]) == "pulumi-staging"
    assert group_of(jobs["deploy.yml:up-prod"]) == "pulumi-prod"
    assert all(job["concurrency"]["cancel-in-progress"] is False for job in jobs.values())


def test_a_queued_rollback_is_neither_cancelled_by_a_later_deploy_nor_held_by_one_awaiting_reviewers() -> None:
    jobs = up_jobs()
    deploy, rollback = jobs["deploy.yml:up-prod"], jobs["rollback.yml:rollback"]
    github = Concurrency()
    github.queue("deploy #1 (waiting for prod reviewers)", group_of(deploy))
    github.queue("rollback support-bot", group_of(rollback, stack="prod", agent="support-bot"))
    github.queue("rollback invoice-extractor", group_of(rollback, stack="prod", agent="invoice-extractor"))
    github.queue("deploy #2 (next push)", group_of(deploy))
    github.queue("deploy #3 (next push)", group_of(deploy))
    running = set(github.running.values())
    assert {"rollback support-bot", "rollback invoice-extractor"} <= running
    assert not any(c.startswith("rollback") for c in github.cancelled)
    assert github.cancelled == ["deploy #2 (next push)"]  # it holds nothing #3 does not


def test_the_concurrency_model_cancels_an_older_pending_job_of_a_shared_group() -> None:
    """The model reproduces the failure a shared group had: a later push cancels the pending rollback."""
    github = Concurrency()
    github.queue("deploy #1", "pulumi-prod")
    github.queue("rollback", "pulumi-prod")
    github.queue("deploy #2", "pulumi-prod")
    assert github.cancelled == ["rollback"]


def test_the_rollback_up_waits_out_the_stack_lock_instead_of_failing() -> None:
    (step,) = [s for s in up_jobs()["rollback.yml:rollback"]["steps"] if "pulumi up" in s.get("run", "")]
    assert "Another update is currently in progress" in step["run"] and "sleep" in step["run"]
    assert "set -o pipefail" in step["run"]


def previews(job: dict) -> bool:
    return any(
        "pulumi/actions" in s.get("uses", "") and (s.get("with") or {}).get("command") == "preview"
        for s in job.get("steps", [])
    )


def test_every_up_preview_and_gate_report_have_a_kubeconfig_first() -> None:
    """The gates reach Prometheus through the API server (gates/transport.py) and a preview's server-side
    dry-run needs the cluster, so the runner needs one before either runs."""
    pull_request = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())["jobs"]
    checked = {
        **up_jobs(),
        "pull-request.yml:render": pull_request["render"],
        **{f"pull-request.yml:{n}": j for n, j in pull_request.items() if previews(j)},
    }
    assert any(previews(job) for job in checked.values())
    for name, job in checked.items():
        runs = [step.get("run", "") for step in job["steps"]]
        kube = next((i for i, run in enumerate(runs) if ".github/scripts/kubeconfig.py" in run), None)
        gate = next(
            i
            for i, step in enumerate(job["steps"])
            if runs_up({"steps": [step]}) or previews({"steps": [step]}) or "gates.cli" in runs[i]
        )
        assert kube is not None and kube <= gate, name


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_kubeconfig_context_is_the_one_the_program_selects(stack: str) -> None:
    """The Kubernetes provider selects `cluster.context` by name when the stack file sets it (dev); the
    gates read the current context, which update-kubeconfig sets to the alias."""
    from settings.stack_file import load

    cluster = load(stack).cluster
    argv = script("kubeconfig").command(stack)
    assert argv[:3] == ["aws", "eks", "update-kubeconfig"]
    assert argv[argv.index("--name") + 1] == cluster.name
    assert argv[argv.index("--alias") + 1] == (cluster.context or stack)


def test_the_pull_request_gate_report_passes_the_stack_state() -> None:
    render = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())["jobs"]["render"]
    (step,) = [s for s in render["steps"] if "gates.cli" in s.get("run", "")]
    assert '--state "$RUNNER_TEMP/$stack-state.json"' in step["run"]
    assert "pulumi stack export" in step["run"]


def test_prod_waits_for_staging_smoke_checks_and_its_reviewers() -> None:
    jobs = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]
    assert jobs["smoke-staging"]["needs"] == "up-staging"
    assert jobs["up-prod"]["needs"] == "smoke-staging"
    assert jobs["up-prod"]["environment"] == "prod"


@pytest.fixture
def stack_copy(tmp_path: Path) -> Callable[[str], Path]:
    def copy(stack: str) -> Path:
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
        return tmp_path / f"Pulumi.{stack}.yaml"

    return copy


def agent_ids(stack: str) -> list[tuple[str, str]]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return [(stack, agent["id"]) for agent in config["agent-platform:agents"]]


@pytest.mark.parametrize(("stack", "agent"), [c for s in ("dev", "staging", "prod") for c in agent_ids(s)])
def test_rollback_edit_sets_only_that_agents_flag(stack_copy: Callable[[str], Path], stack: str, agent: str) -> None:
    rollback = script("rollback")
    path = stack_copy(stack)
    before = path.read_text()
    assert rollback.rollback(path, agent) is True
    after = path.read_text()
    assert yaml.safe_load(after) == rollback.expected(yaml.safe_load(before), agent)
    removed = [line for line in before.splitlines() if line not in after.splitlines()]
    assert removed == []  # comments, quoting and order survive: lines are only added or one value changed
    assert rollback.rollback(path, agent) is False


def test_rollback_flips_an_existing_false_in_place(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(
        "config:\n  agent-platform:agents:\n    - id: a\n      rollout:\n        stage: 2\n"
        "        rollback: false  # set by the workflow\n    - id: b\n      version: '1'\n"
    )
    assert script("rollback").rollback(path, "a") is True
    assert "        rollback: true  # set by the workflow\n" in path.read_text()


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--stack", "prod", "--agent", "no-such-agent"], 2),
        (["--stack", "prod", "--agent", "Bad;rm"], 2),
        (["--stack", "nope", "--agent", "support-bot"], 2),
    ],
    ids=["unknown agent", "agent not a DNS label", "unknown stack"],
)
def test_rollback_rejects_bad_input(tmp_path: Path, args: list[str], status: int) -> None:
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    assert script("rollback").main([*args, "--root", str(tmp_path)]) == status
    assert (tmp_path / "Pulumi.prod.yaml").read_text() == (ROOT / "Pulumi.prod.yaml").read_text()


def test_canary_changes_sees_stage_and_rollback_but_not_other_fields() -> None:
    changes = script("canary_changes")
    base = (ROOT / "Pulumi.prod.yaml").read_text()
    document = yaml.safe_load(base)
    agents = document["config"]["agent-platform:agents"]
    agents[0]["rollout"] = {"stage": 1}
    agents[1]["rollout"] = {"rollback": True}
    agents[2]["version"] = "9.9.9"
    head = yaml.safe_dump(document)
    assert changes.canary_changed(base, head) == sorted([agents[0]["id"], agents[1]["id"]])
    assert changes.settings_changed(base, head) == sorted(a["id"] for a in agents)
    assert changes.canary_changed(base, base) == []


def test_list_images_reads_every_workload_container(rendered: Callable[[str], Path]) -> None:
    records = json.loads((rendered("prod") / "resources.json").read_text())
    expected = {
        c["image"]
        for r in records
        if r["type"] in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job", "kubernetes:apps/v1:StatefulSet")
        for c in r["inputs"]["spec"]["template"]["spec"]["containers"]
    }
    assert expected and script("list_images").images(rendered("prod")) >= expected


def test_smoke_checks_health_everywhere_and_a_session_for_changed_agents() -> None:
    smoke = script("smoke")
    calls: list[list[str]] = []

    def fake(args: list[str], body: str | None) -> tuple[int, str]:
        calls.append(args)
        if args[:2] == ["get", "pods"]:
            return 0, "pod-a"
        failing = "support-bot:http/proxy" in args[-1]
        return (1, "503") if failing else (0, "ok")

    checks = smoke.smoke("staging", ["support-bot"], run=fake)
    sessions = [c for c in checks if c.name.endswith("synthetic session")]
    assert [c.name.split()[0].split("/")[1] for c in sessions] == ["support-bot"]
    assert not sessions[0].ok
    health = [c for c in checks if "/health/" in c.name]
    assert health and all(c.ok for c in health)


def runs_pulumi(job: dict) -> bool:
    return runs_up(job) or previews(job)


def test_every_job_that_runs_pulumi_keeps_the_provider_plugins_between_runs() -> None:
    """The CLI downloads each provider plugin into ~/.pulumi/plugins on first use (pulumi-aws alone is
    hundreds of MB); their versions follow the pinned provider packages, so requirements.txt keys the cache."""
    action = yaml.safe_load((ROOT / ".github/actions/setup/action.yml").read_text())
    (cache,) = [s for s in action["runs"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"] == "~/.pulumi/plugins"
    assert "hashFiles('requirements.txt')" in cache["with"]["key"]
    assert cache["if"] == "inputs.pulumi-plugins == 'true'"
    jobs = {
        f"{path.name}:{name}": job
        for path in WORKFLOWS
        for name, job in yaml.safe_load(path.read_text())["jobs"].items()
        if runs_pulumi(job)
    }
    assert len(jobs) >= 4
    for name, job in jobs.items():
        (setup,) = [s for s in job["steps"] if s.get("uses") == "./.github/actions/setup"]
        assert (setup.get("with") or {}).get("pulumi-plugins") == "true", name


def test_the_smoke_checks_never_judge_staging_while_an_update_changes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rollback's up runs in a group of its own, so only the update history tells the smoke checks that
    staging is changing: they wait while an update runs and check again when one ran during them."""
    smoke = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]["smoke-staging"]
    (step,) = [s for s in smoke["steps"] if "smoke.py" in s.get("run", "")]
    run = step["run"]
    assert run.index("before=$(settled)") < run.index("smoke.py") < run.index("after=$(settled)")
    assert '[ "$before" = "$after" ]' in run and "sleep" in run
    assert "pulumi stack history --json" in run and step["env"]["PULUMI_STACK"].endswith("/staging")
    settled = script("stack_settled")

    def version(*history: dict) -> tuple[int, str]:
        (tmp_path / "h.json").write_text(json.dumps(list(history)))
        status = settled.main([str(tmp_path / "h.json")])
        return status, capsys.readouterr().out.strip()

    done = {"version": 7, "kind": "update", "result": "succeeded"}
    running = {"version": 8, "kind": "update", "result": "in-progress"}
    preview = {"version": 9, "kind": "preview", "result": "succeeded"}
    assert version(done, preview) == (0, "7")  # a preview changes nothing
    assert version(running, done) == (75, "")


def pulumi_cli_steps() -> list[tuple[str, dict, dict]]:
    """(where, workflow, step) for every step that runs the Pulumi CLI against a stack."""
    out = []
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        for name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                command = (step.get("with") or {}).get("command") if "pulumi/actions" in step.get("uses", "") else None
                if command or re.search(r"\bpulumi (up|preview|stack)\b", step.get("run", "")):
                    out.append((f"{path.name}:{name}:{step.get('name', command)}", workflow, step))
    return out


def test_every_pulumi_step_uses_the_configured_state_backend_and_its_secrets() -> None:
    """The CLI takes its backend from PULUMI_BACKEND_URL when it is set and not empty, else from the stored
    login, else Pulumi Cloud (`pulumi login` reference: "PULUMI_BACKEND_URL"); pulumi/actions runs `pulumi
    login` without a URL unless `cloud-url` is given (its src/login.ts), which reads the same variable. A
    passphrase secrets provider reads PULUMI_CONFIG_PASSPHRASE; Pulumi Cloud and awskms ignore it."""
    steps = pulumi_cli_steps()
    assert len(steps) >= 6
    for where, workflow, step in steps:
        assert workflow["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}", where
        assert "cloud-url" not in (step.get("with") or {}), where  # one source: the variable
        runs_program = (step.get("with") or {}).get("command") in ("up", "preview") or "pulumi up" in step.get(
            "run", ""
        )
        if runs_program:
            assert step["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", where
    assert not [p.name for p in WORKFLOWS if "api.pulumi.com" in p.read_text()]  # no backend-specific API


def test_a_self_managed_backend_counts_as_configured_for_the_pull_request_jobs() -> None:
    jobs = yaml.safe_load((ROOT / ".github/workflows/pull-request.yml").read_text())["jobs"]
    checks = [
        s for j in ("render", "pulumi-credentials") for s in jobs[j]["steps"] if "configured=true" in s.get("run", "")
    ]
    assert len(checks) == 2
    for check in checks:
        assert '[ -n "$PULUMI_BACKEND_URL" ]' in check["run"] and '[ "$HEAD_REPO" = "$REPO" ]' in check["run"]


def test_the_docs_say_how_to_create_the_three_stacks_on_either_backend() -> None:
    text = (ROOT / "docs/delivery.md").read_text()
    section = text[text.index("### State backend") :].split("\n## ")[0]
    for stack in ("dev", "staging", "prod"):
        assert re.search(rf"^pulumi stack init <org>/{stack}\b", section, flags=re.M), stack
    assert "PULUMI_BACKEND_URL" in section and "awskms://" in section and "organization" in section
