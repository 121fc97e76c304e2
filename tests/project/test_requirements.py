"""requirements.txt is exactly what the program, the pack, the gates and the CI scripts import; jobs that hold
cloud credentials install only that, and the tests and checks come from requirements-dev.txt."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions, requires

import yaml

from tests.conftest import ROOT
from tests.project.test_delivery import WORKFLOWS

PACKAGES = ("alerting", "components", "conventions", "gates", "planning", "policy", "providers", "settings", "stacks")
RUNTIME_CODE = [
    ROOT / "__main__.py",
    *(f for package in PACKAGES for f in (ROOT / package).rglob("*.py")),
    *(ROOT / ".github" / "scripts").glob("*.py"),
]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==\S+$")


def pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r "):
            match = PIN.match(line)
            assert match, f"{name}: {line!r} is not pinned with =="
            out[re.sub(r"[-_.]+", "-", match[1]).lower()] = line
    return out


def imported_top_levels() -> set[str]:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    project = packages | {p.stem for p in (ROOT / ".github" / "scripts").glob("*.py")}  # the scripts import each other
    names = set()
    for path in RUNTIME_CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in project and n != "__future__"}


def distributions_of(modules: set[str]) -> set[str]:
    table = packages_distributions()
    return {re.sub(r"[-_.]+", "-", d).lower() for m in modules for d in table.get(m, [m])}


def closure(names: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in requires(name) or []:
            if "extra ==" not in requirement:
                todo.append(re.sub(r"[-_.]+", "-", re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0]).lower())
    return seen


def test_every_runtime_pin_is_imported_by_runtime_code() -> None:
    runtime = pins("requirements.txt")
    used = distributions_of(imported_top_levels())
    assert set(runtime) - used == set(), "pinned for the runtime but only the tests use it: requirements-dev.txt"


def test_every_runtime_import_comes_from_a_runtime_pin() -> None:
    runtime = pins("requirements.txt")
    missing = distributions_of(imported_top_levels()) - closure(set(runtime))
    assert missing == set(), "imported by the program or the CI scripts but not in requirements.txt"


def test_the_dev_requirements_add_to_the_runtime_without_repeating_it() -> None:
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text.splitlines()
    assert set(pins("requirements-dev.txt")) & set(pins("requirements.txt")) == set()


def test_jobs_that_hold_cloud_credentials_install_the_runtime_only() -> None:
    action = yaml.safe_load((ROOT / ".github/actions/setup/action.yml").read_text())
    default = action["inputs"]["requirements"]["default"]
    checked = 0
    for path in WORKFLOWS:
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            if (job.get("permissions") or {}).get("id-token") != "write":
                continue
            for step in job.get("steps", []):
                if step.get("uses") == "./.github/actions/setup":
                    checked += 1
                    assert (step.get("with") or {}).get("requirements", default) == "requirements.txt", name
                assert "requirements-dev" not in step.get("run", ""), name
    assert checked >= 6
