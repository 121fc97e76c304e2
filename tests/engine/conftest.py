"""One file backend, one project copy and one `up` per stack for the whole session: the engine tests read
what those runs left (exports, manifests, the stand-in's calls) instead of each running the CLI again.

Engine runs differ from the committed stack files in three settings, each for a reason the tests state:
- `gitops.render_yaml_to` is set: the Kubernetes provider writes manifests to a folder (no cluster);
- stack references name `organization/...`: the only organization a file backend has (the offline render's
  stand-in outputs are renamed to match);
- prod's `cluster.install_addons` is false: a helm.v3.Release installs charts into a cluster, which a
  provider that renders YAML does not have (the provider fails such a release).
The offline render the tests compare with is rendered from the same copy, so both see the same settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gates.ga_gate import ga_spec
from gates.stage_clock import format_time
from settings import stack_file
from testing.engine_cli import ORGANIZATION, ROOT, TOOLS_BIN, Engine, project_copy

STACKS = ("dev", "staging", "prod")
PARALLEL = "16"
"""Resource operations at once: the stand-in and the rendering provider answer at once, so the engine's
concurrency, not the cloud, sets the pace; more than this gains nothing on 2 cores."""


def ready_evidence(fetched_at: datetime) -> dict[str, Any]:
    """A GA readiness document the runtime's endpoint would serve for a tenant that passes every check."""
    return {
        "ready": True,
        "checks": {
            "security_audit": {"passed": True, "score": 0.95},
            "performance_certification": {"passed": True, "p95_latency_ms": 420},
            "feature_flag_removal": {"passed": True, "remaining_flags": 0},
            "documentation": {"passed": True, "coverage": 0.92},
            "signoff": {"passed": True, "approvals": 3, "required": 3},
        },
        "overall_score": 0.94,
        "blocking_items": [],
        "fetched_at": format_time(fetched_at),
    }


def ga_evidence(project: Path, stack: str) -> dict[Path, dict[str, Any]]:
    """The evidence files a team saves with `python -m gates.ga_evidence` before a prod `up`, for every agent the
    stack gates (paths from the stack's `gates.ga` templates, owners from its settings), fetched an hour ago."""
    settings = stack_file.load(stack, root=project)
    fetched = datetime.now(UTC) - timedelta(hours=1)
    documents: dict[Path, dict[str, Any]] = {}
    for agent in settings.agents:
        if settings.environment != "prod" or agent.lifecycle_stage != "ga":
            continue
        spec = ga_spec(settings, agent)
        for source in spec.sources.values():
            documents[project / source] = ready_evidence(fetched)
        documents[project / spec.checklist_source] = {
            "recorded_at": format_time(fetched),
            "trace_coverage": 0.998,
            "policy_prechecks": True,
            "capability_owners": {capability: agent.owner for capability in agent.capabilities},
            "offline_eval_pass": True,
            "unknown_side_effect_path_missing": False,
            "direct_tool_access_present": False,
            "policy_decisions_not_traced": False,
        }
    return documents


def edit_stack_file(path: Path, edit: Any) -> None:
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@dataclass
class StackRun:
    """What one stack's preview and first `up` left."""

    name: str
    project: Path
    offline: Path
    manifests: Path
    preview: subprocess.CompletedProcess[str]
    up: subprocess.CompletedProcess[str]
    without_evidence: subprocess.CompletedProcess[str] | None
    """The first `up` of a stack with GA gates, before its evidence files exist."""
    export: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass
class EngineSession:
    engine: Engine
    project: Path
    cluster_project: Path
    runs: dict[str, StackRun] = field(default_factory=dict)

    def run(self, *args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.engine.run(cwd or self.project, *args, check=check)

    def stack(self, name: str) -> StackRun:
        if name not in self.runs:
            self.runs[name] = self._deploy(name)
        return self.runs[name]

    def _deploy(self, stack: str) -> StackRun:
        offline = self.engine.workdir / "offline"
        render = subprocess.run(
            [sys.executable, "-m", "stacks.render", stack, "--out", str(offline)],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert render.returncode == 0, render.stderr + render.stdout
        self.run("stack", "init", f"{ORGANIZATION}/agent-platform/{stack}", "--secrets-provider", "passphrase")
        preview = self.run("preview", "--stack", stack, "--parallel", PARALLEL, "--diff")
        up_args = ("up", "--stack", stack, "--yes", "--skip-preview", "--parallel", PARALLEL)
        evidence = ga_evidence(self.project, stack)
        without_evidence = self.run(*up_args, check=False) if evidence else None
        for path, document in evidence.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document, indent=2))
        up = self.run(*up_args, check=False)
        run = StackRun(stack, self.project, offline / stack, self.manifests(stack), preview, up, without_evidence)
        run.export = self.engine.export(self.project, stack)
        run.outputs = self.engine.json(self.project, "stack", "output", "--stack", stack, "--json", "--show-secrets")
        return run

    def manifests(self, stack: str) -> Path:
        return self.engine.workdir / "manifests" / stack


def prepare_project(engine: Engine) -> tuple[Path, Path]:
    project = project_copy(ROOT, engine.workdir / "agent-platform")
    references = project / "stacks" / "offline" / "stack_references.yaml"
    renamed = {
        f"{ORGANIZATION}/{name.split('/', 1)[1]}": outputs
        for name, outputs in yaml.safe_load(references.read_text()).items()
    }
    references.write_text(yaml.safe_dump(renamed, sort_keys=True))
    for stack in STACKS:

        def engine_settings(config: dict[str, Any], stack: str = stack) -> None:
            cluster = config["agent-platform:cluster"]
            if cluster.get("stack_reference"):
                cluster["stack_reference"] = f"{ORGANIZATION}/{cluster['stack_reference'].split('/', 1)[1]}"
            if cluster.get("install_addons"):
                cluster["install_addons"] = False
            gitops = config.setdefault("agent-platform:gitops", {})
            gitops["render_yaml_to"] = str(engine.workdir / "manifests" / stack)
            gitops.pop("repo_url", None)  # the Argo CD Application would need a cluster to apply it to

        edit_stack_file(project / f"Pulumi.{stack}.yaml", engine_settings)

    cluster = project_copy(Path(__file__).with_name("cluster_stack"), engine.workdir / "eks-cluster")
    for name in renamed:
        stack = name.rsplit("/", 1)[1]
        engine.run(cluster, "stack", "init", name, "--secrets-provider", "passphrase")
        engine.run(cluster, "config", "set", "--stack", stack, "references", str(references))
        engine.run(cluster, "up", "--stack", stack, "--yes", "--skip-preview")
    return project, cluster


@pytest.fixture(scope="session")
def engine_session(tmp_path_factory: pytest.TempPathFactory) -> EngineSession:
    if not (TOOLS_BIN / "pulumi").exists():
        pytest.fail("the Pulumi tools are not built: ./scripts/build-pulumi-tools.sh (./scripts/test.sh runs it)")
    engine = Engine(tmp_path_factory.mktemp("engine"))
    engine.run(engine.workdir, "login", f"file://{engine.backend}")
    project, cluster = prepare_project(engine)
    return EngineSession(engine, project, cluster)


def resources_by_urn(export: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in export["deployment"].get("resources") or []}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
