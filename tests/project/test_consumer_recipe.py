"""The README's consumer recipe works as written: its mocks serve a render's outputs.json to the README's
StackReference example, under the real SDK, in a process of its own (mocks are global)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT

SECTION = (ROOT / "README.md").read_text().split("## Outputs contract", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```python\n(.*?)```", SECTION, re.DOTALL)


def test_the_readme_example_requires_its_outputs_of_the_stack_ci_deploys() -> None:
    example = BLOCKS[0]
    assert "get_output(" not in SECTION and "require_output(" in example
    (name,) = re.findall(r'StackReference\("([^"]+)"\)', example)
    org, project, stack = name.split("/")
    project_name = re.search(r"^name: (\S+)", (ROOT / "Pulumi.yaml").read_text(), re.MULTILINE)
    assert project_name is not None and project == project_name.group(1)
    stack_refs = set(
        re.findall(r"stack_reference: ([\w-]+)/", "".join(p.read_text() for p in ROOT.glob("Pulumi.*.yaml")))
    )
    assert stack_refs == {org} and stack == "prod"


def test_the_mock_recipe_serves_the_render_to_the_example(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    mocks, example = BLOCKS[1], BLOCKS[0]
    outputs = rendered("prod") / "outputs.json"
    script = tmp_path / "consumer.py"
    script.write_text(
        "\n".join(
            [
                mocks.replace('Path("build/prod/outputs.json")', f"Path({str(outputs)!r})"),
                "",
                "@pulumi.runtime.test",
                "def read():",
                textwrap.indent(example, "    "),
                "    return namespace.apply(lambda value: print('namespace', value))",
                "",
                "read()",
            ]
        )
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "namespace acme-prod" in result.stdout.splitlines()
