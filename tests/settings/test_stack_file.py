"""The one stack-file reader: `secure:` values at any depth, as `pulumi config set --secret --path` writes them,
are secret to every reader (program, offline render, policy pack, gate CLI) alike."""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import yaml

from policy import offline, stack_settings
from settings import stack_file

ROOT = stack_file.PROJECT_ROOT
TOKEN_KEY = "agent-platform:gates"


def with_readme_token(root: Path, stack: str) -> None:
    """What `pulumi config set --secret --path 'agent-platform:gates.prometheus.bearer_token' <token>` (the
    README's instruction) leaves in the stack file: a `secure:` value nested under the top-level key."""
    path = stack_file.path_of(stack, root)
    document = yaml.safe_load(path.read_text())
    gates = document["config"].setdefault(TOKEN_KEY, {})
    gates.setdefault("prometheus", {})["bearer_token"] = {"secure": "v1:c2VjcmV0:Y2lwaGVydGV4dA=="}
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.fixture()
def token_root(tmp_path: Path) -> Path:
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    with_readme_token(tmp_path, "prod")
    return tmp_path


def test_a_nested_secure_value_makes_its_top_level_key_secret(token_root: Path) -> None:
    config = stack_file.read("prod", token_root)
    assert TOKEN_KEY in config.secret_keys
    assert "v1:" not in config.values[TOKEN_KEY], "nothing is decrypted or passed on as ciphertext"
    settings = stack_file.load("prod", token_root)
    assert settings.gates.prometheus.bearer_token == stack_file.placeholder(f"{TOKEN_KEY}.prometheus.bearer_token")


def test_a_nested_plain_token_is_refused(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.prod.yaml", tmp_path / "Pulumi.prod.yaml")
    path = stack_file.path_of("prod", tmp_path)
    document = yaml.safe_load(path.read_text())
    document["config"][TOKEN_KEY] = {"prometheus": {"bearer_token": "plain-token"}}
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(stack_settings.SettingsUnavailableError, match=r"gates\.prometheus\.bearer_token"):
        stack_settings.load.__wrapped__("prod", tmp_path)


def test_prod_render_with_the_readme_token_passes_the_policy_pack(
    token_root: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path_factory.mktemp("render")
    script = (
        "import sys; from pathlib import Path; from stacks.render import render; "
        "render('prod', Path(sys.argv[1]), root=Path(sys.argv[2]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(out), str(token_root)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "c2VjcmV0" not in (out / "prod" / "resources.json").read_text()
    monkeypatch.setattr(stack_settings, "load", partial(stack_settings.load.__wrapped__, root=token_root))
    mandatory = [v for v in offline.check(out / "prod") if v.mandatory]
    assert mandatory == [], offline.format(mandatory)
