"""Shared fixtures: the three stacks rendered once per session, the way the README's command renders them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("dev", "staging", "prod")
PROJECT_PACKAGES = {"components", "gates", "planning", "settings", "stacks"}


class ProvokedFailures(logging.Filter):
    """A test that asserts a program fails (a gate that holds or blocks, settings refused) leaves the SDK's
    pending Output futures holding that very exception; asyncio reports each one when it is collected, as
    "Future exception was never retrieved", after the run's summary. Those are the failures the tests
    asked for: drop them. Every other asyncio report, any exception of another origin, goes through."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        provoked = error is not None and type(error).__module__.split(".")[0] in PROJECT_PACKAGES
        return not (provoked and record.getMessage().startswith("Future exception was never retrieved"))


logging.getLogger("asyncio").addFilter(ProvokedFailures())


def render_stack(stack: str, out: Path, *extra: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stacks.render", stack, "--out", str(out), *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def render_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """All stacks rendered concurrently into one folder; a failed render fails every test that uses it."""
    out = tmp_path_factory.mktemp("render")
    procs = {
        stack: subprocess.Popen(
            [sys.executable, "-m", "stacks.render", stack, "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for stack in STACKS
    }
    failures = []
    for stack, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(f"{stack}: exit {proc.returncode}\n{stderr}\n{stdout}")
        (out / f"{stack}.summary.txt").write_text(stdout)
    if failures:
        pytest.fail("render failed:\n" + "\n".join(failures))
    return out


@pytest.fixture(scope="session")
def rendered(render_root: Path) -> Callable[[str], Path]:
    """`rendered("prod")` -> the folder `build/prod` would be."""
    return lambda stack: render_root / stack


def load_resources(folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / "resources.json").read_text())


def load_manifests(folder: Path) -> dict[Path, dict[str, Any]]:
    base = folder / "manifests"
    return {path.relative_to(base): yaml.safe_load(path.read_text()) for path in sorted(base.rglob("*.yaml"))}


def pytest_report_header() -> list[str]:
    """The engine tests' Pulumi binaries: version and build time, in every test log."""
    from testing.engine_cli import tool_versions

    return [f"pulumi tools: {line}" for line in tool_versions().splitlines()]
