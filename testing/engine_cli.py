"""The real Pulumi CLI for the engine tests: the binaries scripts/build-pulumi-tools.sh builds into .tools/bin,
a local file backend (`pulumi login file://...`), a passphrase secrets provider, a PULUMI_HOME of the test's
own, the stand-in `aws` plugin (testing/aws_standin.py) and nothing downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOOLS_BIN = ROOT / ".tools" / "bin"
VERSIONS = ROOT / ".tools" / "versions.txt"
PASSPHRASE = "engine-tests-only"
"""The passphrase secrets provider's key for the test backend: these stacks hold no real secret."""
ORGANIZATION = "organization"
"""The only organization a file backend knows: stack references there read `organization/<project>/<stack>`."""
PROJECT_IGNORED = shutil.ignore_patterns(
    ".venv",
    "build",
    ".git",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".tools",
    "tests",
    "benchmarks",
    "docs",
    "scripts",
    "testing",
)


def project_copy(source: Path, target: Path) -> Path:
    """A copy of a project whose Pulumi.yaml names `.venv`, with that virtualenv linked in, not copied: `stack
    init` and `config set` write stack files, which the tests must not change in the repository."""
    shutil.copytree(source, target, ignore=PROJECT_IGNORED)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


@dataclass
class Engine:
    """One backend and one PULUMI_HOME shared by every project a test session runs."""

    workdir: Path

    def __post_init__(self) -> None:
        self.backend = self.workdir / "backend"
        self.home = self.workdir / "home"
        self.plugins = self.workdir / "plugins"
        self.record = self.workdir / "aws-standin-calls.jsonl"
        for folder in (self.backend, self.home, self.plugins):
            folder.mkdir(parents=True, exist_ok=True)
        standin = self.plugins / "pulumi-resource-aws"
        standin.write_text(
            f'#!/bin/sh\nPYTHONPATH={ROOT} exec {ROOT / ".venv" / "bin" / "python"} -u -m testing.aws_standin "$@"\n'
        )
        standin.chmod(0o755)

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(TOOLS_BIN), str(self.plugins), str(ROOT / ".venv" / "bin"), os.environ["PATH"]])
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "AWS_"))},
            "PATH": path,
            "PULUMI_HOME": str(self.home),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PULUMI_PYTHON_CMD": str(ROOT / ".venv" / "bin" / "python"),
            "AWS_STANDIN_RECORD": str(self.record),
            "NO_COLOR": "1",
        }

    def run(
        self, cwd: Path, *args: str, check: bool = True, timeout: float = 1200, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(TOOLS_BIN / "pulumi"), *args, "--non-interactive"],
            cwd=cwd,
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
            )
        return result

    def json(self, cwd: Path, *args: str) -> Any:
        return json.loads(self.run(cwd, *args).stdout)

    def export(self, cwd: Path, stack: str) -> dict[str, Any]:
        return self.json(cwd, "stack", "export", "--stack", stack)


def tool_versions() -> str:
    return VERSIONS.read_text() if VERSIONS.exists() else "(not built: run ./scripts/build-pulumi-tools.sh)"


if __name__ == "__main__":
    print(tool_versions(), file=sys.stderr)
