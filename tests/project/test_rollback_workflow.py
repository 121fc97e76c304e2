"""The rollback workflow takes effect before it records anything, deploys only what already went out, and
records the flag in main with an identity a protected branch admits."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.project.test_delivery import script

ROLLBACK = yaml.safe_load((ROOT / ".github/workflows/rollback.yml").read_text())["jobs"]["rollback"]


def steps() -> list[dict[str, Any]]:
    return ROLLBACK["steps"]


def index(predicate: Any) -> list[int]:
    return [i for i, step in enumerate(steps()) if predicate(step)]


def pushes(step: dict[str, Any]) -> bool:
    return "git" in step.get("run", "") and " push " in step.get("run", "")


def ups(step: dict[str, Any]) -> bool:
    return "pulumi up" in step.get("run", "")


def test_the_rollback_takes_effect_before_anything_is_pushed() -> None:
    """A push that fails (protected main) must not keep the canary serving: the up comes first."""
    (up,) = index(ups)
    assert index(pushes), "the flag is recorded in main"
    assert all(up < push for push in index(pushes))


class ProtectedMain:
    """GitHub's rule for a push to `main` protected by a ruleset or branch protection that requires pull
    requests and status checks: the push is rejected unless its actor is on the bypass list. Eligible for
    bypass are repository roles, teams, GitHub Apps installed on the repository and deploy keys ("About
    rulesets" / "Creating rulesets for a repository", docs.github.com, "Grant bypass permissions": roles,
    teams, or apps). The workflow's GITHUB_TOKEN acts as `github-actions[bot]`, which is not an App one
    installs and cannot be put on that list; an installation token of an App the org installs can."""

    BYPASS = frozenset({"app-installation-token"})

    @staticmethod
    def actor(token_expression: str) -> str:
        if token_expression.strip() in ("${{ github.token }}", "${{ secrets.GITHUB_TOKEN }}"):
            return "workflow-token"
        app_steps = {s["id"] for s in steps() if s.get("uses", "").startswith("actions/create-github-app-token@")}
        if any(token_expression.strip() == "${{ steps." + i + ".outputs.token }}" for i in app_steps):
            return "app-installation-token"
        return "unknown"

    def accepts(self, token_expression: str) -> bool:
        return self.actor(token_expression) in self.BYPASS


def test_the_flag_is_pushed_by_an_identity_the_protected_branch_admits() -> None:
    main = ProtectedMain()
    for i in index(pushes):
        tokens = [v for v in (steps()[i].get("env") or {}).values() if "token" in str(v).lower()]
        assert tokens and all(main.accepts(t) for t in tokens), steps()[i]["name"]
    assert ROLLBACK["permissions"]["contents"] == "read"  # the workflow token cannot write at all
    (app,) = [s for s in steps() if s.get("uses", "").startswith("actions/create-github-app-token@")]
    assert app["with"]["permission-contents"] == "write" and not any(
        k.startswith("permission-") and k != "permission-contents" for k in app["with"]
    )


def test_the_protected_branch_model_turns_away_the_workflow_token() -> None:
    assert not ProtectedMain().accepts("${{ github.token }}")


def test_the_up_runs_on_the_commit_the_stack_runs_not_on_main() -> None:
    (up,) = [s for s in steps() if ups(s)]
    run = up["run"]
    assert run.index("pulumi stack history --json") < run.index("deployed.py") < run.index("pulumi up")
    assert "--main origin/main" in run
    # the tools are main's, copied before anything else is checked out
    (copy,) = index(lambda s: "deployed.py" in s.get("run", "") and "cp " in s["run"])
    assert copy < index(ups)[0]


# `pulumi stack history --json` entries as the CLI prints them (updateInfoJSON, pkg/cmd/pulumi/stack/
# stack_history.go): object config values under `objectValue`, git metadata under `environment`.
def update(version: int, head: str, *, kind: str = "update", result: str = "succeeded", dirty: bool = False,
           message: str = "", rolled_back: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    agents = [{"id": a, "rollout": {"rollback": True}} for a in rolled_back]
    return {
        "version": version,
        "kind": kind,
        "startTime": f"2026-12-03 10:0{version}:00",
        "message": message,
        "environment": {"git.head": head, "git.dirty": str(dirty).lower(), "ci.system": "GitHub"},
        "config": {"agent-platform:agents": {"value": json.dumps(agents), "objectValue": agents, "secret": False}},
        "result": result,
    }


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, str]:
    """A clone whose main went past the deployed commit with a change that never went out."""
    work = tmp_path / "repo"
    work.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=work, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "--quiet", "--initial-branch=main")
    git("config", "user.email", "ci@example.com")
    git("config", "user.name", "ci")
    shutil.copy(ROOT / "Pulumi.prod.yaml", work / "Pulumi.prod.yaml")
    git("add", ".")
    git("commit", "--quiet", "-m", "deployed")
    deployed = git("rev-parse", "HEAD")
    text = (work / "Pulumi.prod.yaml").read_text()
    (work / "Pulumi.prod.yaml").write_text(text + "\n# merged, waiting for prod's reviewers\n")
    git("commit", "--quiet", "-am", "not approved yet")
    unapproved = git("rev-parse", "HEAD")
    git("checkout", "--quiet", "-b", "feature", deployed)
    (work / "Pulumi.prod.yaml").write_text(text + "\n# a branch\n")
    git("commit", "--quiet", "-am", "a branch")
    branch = git("rev-parse", "HEAD")
    git("checkout", "--quiet", "main")
    return {"path": str(work), "deployed": deployed, "unapproved": unapproved, "branch": branch}


def agents_of(path: Path) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in yaml.safe_load(path.read_text())["config"]["agent-platform:agents"]}


def run(repo: dict[str, str], tmp_path: Path, history: list[dict[str, Any]], agent: str) -> int:
    (tmp_path / "history.json").write_text(json.dumps(history))
    args = [str(tmp_path / "history.json"), "--stack", "prod", "--agent", agent, "--main", "main"]
    return int(script("deployed").main([*args, "--repo", repo["path"]]))


def head(repo: dict[str, str]) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo["path"], capture_output=True, text=True).stdout.strip()


def test_a_rollback_checks_out_the_deployed_commit_and_flags_only_the_agent(
    repo: dict[str, str], tmp_path: Path
) -> None:
    agents = list(agents_of(ROOT / "Pulumi.prod.yaml"))
    history = [update(2, repo["unapproved"], kind="preview"), update(1, repo["deployed"])]
    assert run(repo, tmp_path, history, agents[0]) == 0
    assert head(repo) == repo["deployed"]
    stack = Path(repo["path"]) / "Pulumi.prod.yaml"
    assert "waiting for prod's reviewers" not in stack.read_text()
    flags = {a: (v.get("rollout") or {}).get("rollback") for a, v in agents_of(stack).items()}
    assert flags[agents[0]] is True and not any(flags[a] for a in agents[1:])


def test_rollbacks_the_stack_already_runs_are_kept(repo: dict[str, str], tmp_path: Path) -> None:
    first, second = list(agents_of(ROOT / "Pulumi.prod.yaml"))[:2]
    history = [update(3, repo["deployed"], dirty=True, message=f"rollback {first}", rolled_back=(first,))]
    assert run(repo, tmp_path, history, second) == 0
    flags = agents_of(Path(repo["path"]) / "Pulumi.prod.yaml")
    assert flags[first]["rollout"]["rollback"] is True and flags[second]["rollout"]["rollback"] is True


@pytest.mark.parametrize(
    ("history", "status"),
    [
        ([update(4, "branch")], 2),
        ([update(4, "deployed", dirty=True, message="laptop")], 2),
        ([update(4, "")], 2),
        ([update(4, "deployed", result="in-progress"), update(3, "deployed")], 75),
        ([update(4, "unapproved", kind="refresh")], 2),
    ],
    ids=["commit not on main", "uncommitted changes", "no commit recorded", "update in progress", "no update"],
)
def test_a_rollback_that_cannot_tell_what_runs_deploys_nothing(
    repo: dict[str, str], tmp_path: Path, history: list[dict[str, Any]], status: int
) -> None:
    for entry in history:
        entry["environment"]["git.head"] = repo.get(entry["environment"]["git.head"], "")
    assert run(repo, tmp_path, history, next(iter(agents_of(ROOT / "Pulumi.prod.yaml")))) == status
    assert head(repo) == repo["unapproved"]
    assert subprocess.run(["git", "diff", "--quiet"], cwd=repo["path"]).returncode == 0


@pytest.mark.parametrize(
    ("setting", "status"),
    [(None, 4), (True, 0), (False, 0)],
    ids=["file says nothing: refused", "kept", "lifted"],
)
def test_a_deploy_never_drops_a_rollback_the_stack_runs_unasked(
    tmp_path: Path, setting: bool | None, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rollback records its flag after its up; when that failed, main lacks it and a deploy of main
    would put the canary back. Setting it either way is a decision; saying nothing is not."""
    stack = tmp_path / "Pulumi.prod.yaml"
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    agent = document["config"]["agent-platform:agents"][0]
    agent.setdefault("rollout", {}).pop("rollback", None)
    if setting is not None:
        agent["rollout"]["rollback"] = setting
    stack.write_text(yaml.safe_dump(document))
    history = [update(5, "x", dirty=True, message=f"rollback {agent['id']}", rolled_back=(agent["id"],))]
    (tmp_path / "history.json").write_text(json.dumps(history))
    args = [str(tmp_path / "history.json"), "--stack", "prod", "--keeps-rollbacks", "--repo", str(tmp_path)]
    assert script("deployed").main(args) == status
    if status:
        assert agent["id"] in capsys.readouterr().err


def test_every_deploy_checks_the_rollbacks_before_its_up() -> None:
    jobs = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]
    for name in ("up-staging", "up-prod"):
        names = [s.get("run", "") + str((s.get("with") or {}).get("command", "")) for s in jobs[name]["steps"]]
        check = next(i for i, run in enumerate(names) if "--keeps-rollbacks" in run)
        up = next(i for i, run in enumerate(names) if run.endswith("up"))
        assert check < up, name
