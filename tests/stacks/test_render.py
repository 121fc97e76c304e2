"""The offline render: what it writes, that it is deterministic, and how it fails."""

from __future__ import annotations

import filecmp
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, STACKS, load_manifests, load_resources, render_stack
from tests.manifest_schemas import validate_objects

IGNORED = shutil.ignore_patterns(
    ".venv", "build", ".git", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"
)


def project_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=IGNORED)
    return copy


def edit_stack(project: Path, stack: str, edit: Callable[[dict], None]) -> None:
    path = project / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text())
    edit(document["config"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))


@pytest.mark.parametrize("stack", STACKS)
def test_render_writes_resources_manifests_and_summary(rendered: Callable[[str], Path], stack: str) -> None:
    folder = rendered(stack)
    resources = load_resources(folder)
    assert resources == sorted(resources, key=lambda r: r["urn"])
    types = {r["type"] for r in resources}
    assert {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:ResourceQuota", "pulumi:providers:kubernetes"} <= types
    manifests = load_manifests(folder)
    assert len(manifests) == sum(
        1
        for r in resources
        if r["custom"] and r["type"].startswith("kubernetes:") and r["type"] != "kubernetes:helm.sh/v3:Release"
    )
    for path, obj in manifests.items():
        folder_name = obj["metadata"].get("namespace") or "_cluster"
        assert path == Path(folder_name) / f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
    summary = (folder.parent / f"{stack}.summary.txt").read_text()
    assert f"Stack {stack}: " in summary and "Resources by tenant:" in summary and "schema_version" in summary


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_resources_carry_the_explicit_provider(rendered: Callable[[str], Path], stack: str) -> None:
    resources = load_resources(rendered(stack))
    k8s_provider = next(
        r["urn"] for r in resources if r["type"] == "pulumi:providers:kubernetes" and r["name"] == "k8s"
    )
    objects = [r for r in resources if r["custom"] and r["type"].startswith("kubernetes:")]
    assert objects and all(r["provider"] == k8s_provider for r in objects)


@pytest.mark.parametrize("stack", STACKS)
def test_urns_are_built_the_way_the_engine_builds_them(rendered: Callable[[str], Path], stack: str) -> None:
    """`resource.NewURN` in the Pulumi engine: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the
    qualified type is the parent's whole qualified type, `$`, the type; children of the root stack have none."""
    resources = {r["urn"]: r for r in load_resources(rendered(stack))}
    wrong = []
    for urn, resource in resources.items():
        parent = resource["parent"]
        parent_type = parent.split("::")[2] if parent else ""
        chain = resource["type"] if parent_type in ("", "pulumi:pulumi:Stack") else f"{parent_type}${resource['type']}"
        if urn != f"urn:pulumi:{stack}::agent-platform::{chain}::{resource['name']}":
            wrong.append(urn)
    grandchildren = [r for r in resources.values() if resources.get(r["parent"], {}).get("parent") in resources]
    assert wrong == [] and grandchildren


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_objects_pass_their_schemas(rendered: Callable[[str], Path], stack: str) -> None:
    manifests = load_manifests(rendered(stack))
    paths = list(manifests)
    errors = validate_objects(list(manifests.values()))
    assert {str(paths[i]): e for i, e in errors.items()} == {}


def test_schema_validation_catches_a_bad_object(rendered: Callable[[str], Path]) -> None:
    manifests = list(load_manifests(rendered("dev")).values())
    quota = next(m for m in manifests if m["kind"] == "ResourceQuota")
    quota["spec"]["hardd"] = quota["spec"].pop("hard")
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    errors = validate_objects([quota, unknown])
    assert "hardd" in errors[0]
    assert errors[1] == "no schema found for example.com/v1 Widget"


def test_render_is_deterministic(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    result = render_stack("dev", tmp_path)
    assert result.returncode == 0, result.stderr
    comparison = filecmp.dircmp(rendered("dev"), tmp_path / "dev")

    def differences(cmp: filecmp.dircmp) -> list[str]:
        found = cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files
        return found + [d for sub in cmp.subdirs.values() for d in differences(sub)]

    _, mismatch, errors = filecmp.cmpfiles(
        rendered("dev"), tmp_path / "dev", ["resources.json", "outputs.json"], shallow=False
    )
    assert differences(comparison) == [] and mismatch == [] and errors == []


def test_diff_reports_exactly_a_changed_quota(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    edit_stack(project, "dev", lambda c: c.update({"agent-platform:tiers": {"standard": {"quota": {"pods": 40}}}}))
    result = render_stack("dev", tmp_path / "out", "--diff", str(rendered("dev")), cwd=project)
    assert result.returncode == 0, result.stderr
    changes = result.stdout.split("Changes against", 1)[1].splitlines()[1:]
    assert changes == [
        "0 to add, 1 to change, 0 to delete",
        "~ urn:pulumi:dev::agent-platform::agent-platform:components:TenantNamespace"
        "$kubernetes:core/v1:ResourceQuota::acme-quota",
        "    inputs.spec.hard.pods: '25' -> '40'",
    ]


def test_invalid_settings_exit_non_zero_and_write_nothing(tmp_path: Path) -> None:
    project = project_copy(tmp_path)

    def break_tier(config: dict) -> None:
        config["agent-platform:tenants"][1]["tier"] = "gold"

    edit_stack(project, "prod", break_tier)
    out = tmp_path / "out"
    result = render_stack("prod", out, cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Pulumi.prod.yaml: agent-platform:tenants[1].tier: 'gold' is not one of standard, premium, enterprise"
    ]
    assert not (out / "prod").exists()


def test_three_line_tenant_appears_with_all_its_objects(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    project = project_copy(tmp_path)
    path = project / "Pulumi.staging.yaml"
    text = path.read_text()
    anchor = "  agent-platform:tenants:\n"
    path.write_text(text.replace(anchor, anchor + "    - id: newco\n      tier: premium\n      beta: true\n"))
    result = render_stack("staging", tmp_path / "out", cwd=project)
    assert result.returncode == 0, result.stderr
    manifests = load_manifests(tmp_path / "out" / "staging")
    before = load_manifests(rendered("staging"))
    # Everything a tenant gets before any agent runs there, named as for every other tenant.
    agents = {a["id"] for a in yaml.safe_load(text)["config"]["agent-platform:agents"]}
    tenant_level = {
        name.replace("globex-staging", "{ns}")
        for path in before
        if path.parts[0] == "globex-staging"
        and path.name.removeprefix("serviceaccount-").removesuffix(".yaml") not in agents
        for name in [path.name]
        if before[path]["metadata"].get("labels", {}).get("agent-id") is None
    }
    newco = {p.name for p in manifests if p.parts[0] == "newco-staging"}
    assert newco == {name.format(ns="newco-staging") for name in tenant_level}
    assert len(newco) >= 12
    assert Path("_cluster/namespace-newco-staging.yaml") in manifests
    assert len(manifests) - len(before) == len(newco) + 1
    outputs = json.loads((tmp_path / "out" / "staging" / "outputs.json").read_text())
    assert outputs["tenants"]["newco"]["namespace"] == "newco-staging"


def test_preview_leaves_computed_values_unknown(tmp_path: Path) -> None:
    result = render_stack("dev", tmp_path, "--preview")
    assert result.returncode == 0, result.stderr
    assert "(preview)" in result.stdout
    resources = {r["name"]: r for r in load_resources(tmp_path / "dev")}
    annotations = resources["acme-sa-support-bot"]["inputs"]["metadata"]["annotations"]
    assert annotations["eks.amazonaws.com/role-arn"] == "(known after apply)"


def test_secure_values_are_masked(tmp_path: Path) -> None:
    project = project_copy(tmp_path)

    def add_secret(config: dict) -> None:
        config["agent-platform:cluster"]["kubeconfig"] = {"secure": "v1:AAAAbogusciphertext"}

    edit_stack(project, "dev", add_secret)
    result = render_stack("dev", tmp_path / "out", cwd=project)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "dev" / "resources.json").read_text()
    provider = next(r for r in json.loads(text) if r["name"] == "k8s")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert "set with pulumi config set --secret" not in text


@pytest.mark.parametrize("stack", STACKS)
def test_outputs_contract(rendered: Callable[[str], Path], stack: str) -> None:
    outputs = json.loads((rendered(stack) / "outputs.json").read_text())
    assert outputs["schema_version"] == "1.2"
    assert outputs["environment"] == stack
    stack_file = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    tenant_ids = [t["id"] for t in stack_file["agent-platform:tenants"]]
    assert sorted(outputs["tenants"]) == sorted(tenant_ids)
    for tenant_id, entry in outputs["tenants"].items():
        assert entry["namespace"] == f"{tenant_id}-{stack}"
        assert set(entry) >= {"namespace", "canary_cohort", "flags_enabled", "tier", "data_residency"}


def test_gitops_mode_writes_manifests_for_argo_cd(tmp_path: Path) -> None:
    """The Kubernetes provider's CheckConfig fails `"kubeconfig" arg is not compatible with
    "renderYamlToDirectory" arg` (and so for context, cluster): pulumi-kubernetes provider/pkg/provider/provider.go."""
    project = project_copy(tmp_path)

    def gitops(config: dict) -> None:
        config["agent-platform:gitops"] = {
            "render_yaml_to": "deploy/staging",
            "repo_url": "https://github.com/acme/agent-platform-manifests.git",
        }

    edit_stack(project, "staging", gitops)
    result = render_stack("staging", tmp_path / "out", cwd=project)
    assert result.returncode == 0, result.stderr
    resources = load_resources(tmp_path / "out" / "staging")
    providers = {r["name"]: r for r in resources if r["type"] == "pulumi:providers:kubernetes"}
    assert providers["k8s"]["inputs"]["renderYamlToDirectory"] == "deploy/staging"
    assert "kubeconfig" not in providers["k8s"]["inputs"] and "context" not in providers["k8s"]["inputs"]
    assert "kubeconfig" in providers["k8s-argocd"]["inputs"]  # the applier still reaches the cluster
    assert "renderYamlToDirectory" not in providers["k8s-argocd"]["inputs"]
    app = next(r for r in resources if r["type"] == "kubernetes:argoproj.io/v1alpha1:Application")
    assert app["provider"] == providers["k8s-argocd"]["urn"]
    sync = app["inputs"]["spec"]["syncPolicy"]
    assert sync["automated"] == {"prune": True, "selfHeal": True}
    assert sync["syncOptions"] == ["CreateNamespace=true"]
    assert sync["retry"] == {"limit": 5, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}
    assert validate_objects([app["inputs"]]) == {}


def test_addons_are_pinned_helm_releases_when_installed(rendered: Callable[[str], Path]) -> None:
    releases = [r for r in load_resources(rendered("prod")) if r["type"] == "kubernetes:helm.sh/v3:Release"]
    assert {r["inputs"]["name"] for r in releases} >= {
        "ingress-nginx",
        "kube-prometheus-stack",
        "prometheus-adapter",
        "metrics-server",
        "vpa",
        "velero",
        "external-secrets",
        "cert-manager",
        "aws-ebs-csi-driver",
        "prometheus-pushgateway",
    }
    assert all(r["inputs"]["version"][0].isdigit() or r["inputs"]["version"][0] == "v" for r in releases)
    assert not any(r["type"] == "kubernetes:helm.sh/v3:Release" for r in load_resources(rendered("dev")))


def test_render_runs_the_policy_pack_and_fails_on_a_mandatory_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pack is the second line: with the settings rule that refuses unencrypted storage taken out (a hole in
    settings validation), the render still fails on the pack's storage-encryption rule."""
    from settings import checks
    from settings.checks.data import storage_is_encrypted
    from stacks import render

    project = project_copy(tmp_path)

    def unencrypted(config: dict) -> None:
        config["agent-platform:data"]["postgres"]["storage_encrypted"] = False

    edit_stack(project, "dev", unencrypted)
    monkeypatch.setattr(checks, "RULES", [rule for rule in checks.RULES if rule is not storage_is_encrypted])
    out = tmp_path / "out"
    code = render.main(["dev", "--out", str(out), "--stack-file", str(project / "Pulumi.dev.yaml")])
    assert code == 1
    assert "[mandatory] storage-encryption: agent-platform-dev-instance" in capsys.readouterr().out
    assert (out / "dev" / "resources.json").exists()  # written, so the violation can be inspected


@pytest.mark.parametrize("stack", STACKS)
def test_stacks_pass_the_policy_pack_in_the_render(rendered: Callable[[str], Path], stack: str) -> None:
    summary = (rendered(stack).parent / f"{stack}.summary.txt").read_text()
    assert "Policy pack: no violations" in summary


# Groups the API server serves without any add-on (plus Pulumi's own Helm release type).
BUILT_IN_GROUPS = {
    "core",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "helm.sh",
}


def test_custom_objects_wait_for_the_release_that_installs_their_kind(rendered: Callable[[str], Path]) -> None:
    """On a fresh cluster an object of a kind no CRD defines yet fails the `up`; prod installs the add-ons."""
    from settings.cluster import _default_addons

    installs = {group: name for name, addon in _default_addons().items() for group in addon.crd_groups}
    resources = load_resources(rendered("prod"))
    release_urn = {r["inputs"]["name"]: r["urn"] for r in resources if r["type"] == "kubernetes:helm.sh/v3:Release"}
    checked = set()
    for r in resources:
        if not r["custom"] or not r["type"].startswith("kubernetes:"):
            continue
        group = r["type"].split(":")[1].rpartition("/")[0]
        if group in BUILT_IN_GROUPS:
            continue
        assert group in installs, f"{r['type']}: no add-on declares `crd_groups: [{group}]`"
        assert release_urn[installs[group]] in r["dependencies"], f"{r['name']} does not wait for {installs[group]}"
        checked.add(group)
    assert checked == {
        "monitoring.coreos.com",
        "velero.io",
        "autoscaling.k8s.io",
        "external-secrets.io",
        "cert-manager.io",
    }


def test_velero_release_assumes_the_role_the_data_part_makes(rendered: Callable[[str], Path]) -> None:
    """The release is installed before the role exists, so it names the role by the cluster's account and the
    role's fixed name (offline, the role's own ARN carries the mock engine's account instead)."""
    folder = rendered("prod")
    release = next(
        r
        for r in load_resources(folder)
        if r["type"] == "kubernetes:helm.sh/v3:Release" and r["inputs"]["name"] == "velero"
    )
    role_arn = json.loads((folder / "outputs.json").read_text())["data"]["velero"]["role_arn"]
    references = yaml.safe_load((ROOT / "stacks" / "offline" / "stack_references.yaml").read_text())
    account = references["acme-platform/eks-cluster/prod"]["oidc_provider_arn"].split(":")[4]
    server = release["inputs"]["values"]["serviceAccount"]["server"]
    assert server["annotations"] == {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::{account}:role/{role_arn.rpartition('/')[2]}"
    }
    assert server["name"] == "velero-server"
    assert release["inputs"]["values"]["deployNodeAgent"] is True


def test_diff_against_the_output_folder_compares_with_the_previous_render(
    rendered: Callable[[str], Path], tmp_path: Path
) -> None:
    """`--diff build/dev` with `--out build`: the old render is read before the new one replaces it."""
    project = project_copy(tmp_path)
    out = tmp_path / "out"
    shutil.copytree(rendered("dev"), out / "dev")
    edit_stack(project, "dev", lambda c: c.update({"agent-platform:tiers": {"standard": {"quota": {"pods": 40}}}}))
    result = render_stack("dev", out, "--diff", str(out / "dev"), cwd=project)
    assert result.returncode == 0, result.stderr
    changes = result.stdout.split("Changes against", 1)[1].splitlines()[1:]
    assert changes[0] == "0 to add, 1 to change, 0 to delete"
    assert "    inputs.spec.hard.pods: '25' -> '40'" in changes


def test_diff_output_is_not_buried_under_the_outputs(rendered: Callable[[str], Path], tmp_path: Path) -> None:
    """With --diff the outputs are only named (they are in outputs.json): the changes follow the counts."""
    result = render_stack("dev", tmp_path / "out", "--diff", str(rendered("dev")))
    assert result.returncode == 0, result.stderr
    before_changes = result.stdout.split("Changes against", 1)[0]
    assert f"Outputs: {tmp_path / 'out' / 'dev' / 'outputs.json'}" in before_changes.splitlines()
    assert "schema_version" not in before_changes
    assert len(before_changes.splitlines()) < 80


def test_diff_against_a_missing_folder_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = render_stack("dev", out, "--diff", str(tmp_path / "nonexistent"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --diff {tmp_path / 'nonexistent'}: no earlier render there (resources.json missing)"
    ]
    assert not (out / "dev").exists()


def test_a_ga_checklist_item_the_settings_break_is_refused_before_the_render_writes(tmp_path: Path) -> None:
    """A prod `ga` agent's gate would fail the `up` on these settings alone (here: no rollback policy), so
    settings validation refuses them with one line and the render writes nothing (tests/settings/test_ga_checks.py
    holds every checklist item)."""
    project = project_copy(tmp_path)
    edit_stack(project, "prod", lambda c: c["agent-platform:canary"].update(policy="block"))
    out = tmp_path / "out"
    result = render_stack("prod", out, cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Pulumi.prod.yaml: agent-platform:canary.policy: 'block' but the rollout checklist of GA agent "
        "'research-assistant' requires a rollback plan (gates.ga.checklist.require: rollback_plan); use rollback"
    ]
    assert not (out / "prod").exists()


def test_the_committed_prod_render_shows_its_ga_gate_passing_on_settings(rendered: Callable[[str], Path]) -> None:
    outputs = json.loads((rendered("prod") / "outputs.json").read_text())
    assert outputs["agents"]["research-assistant"]["ga_gate_verdict"] == "pass"


def test_onboarding_prints_the_steps_outside_the_program_for_new_tenants_only(
    rendered: Callable[[str], Path], tmp_path: Path
) -> None:
    project = project_copy(tmp_path)
    out = tmp_path / "out"
    shutil.copytree(rendered("staging"), out / "staging")

    def add_tenant(config: dict) -> None:
        config["agent-platform:tenants"].append({"id": "initech", "tier": "premium"})
        config["agent-platform:agents"][0]["tenants"].append("initech")

    edit_stack(project, "staging", add_tenant)
    result = render_stack("staging", out, "--diff", str(out / "staging"), "--onboarding", cwd=project)
    assert result.returncode == 0, result.stderr
    report = result.stdout.split("\nTenant ", 1)[1]
    assert report.startswith("initech (namespace initech-staging)") and "\nTenant " not in report
    outputs = json.loads((out / "staging" / "outputs.json").read_text())
    for arn in outputs["data"]["tenants"]["initech"]["llm_secret_arns"].values():
        assert f"put-secret-value --region us-east-1 --secret-id {arn} --secret-string file:///dev/stdin" in report
    routing = [
        m
        for m in load_manifests(out / "staging").values()
        if m["kind"] == "AlertmanagerConfig" and m["metadata"]["namespace"] == "initech-staging"
    ]
    keys = sorted({c["urlSecret"]["key"] for m in routing for r in m["spec"]["receivers"] for c in r["webhookConfigs"]})
    assert (
        keys
        and "kubectl -n initech-staging create secret generic alertmanager-receivers "
        + " ".join(f"--from-literal={k}=<value>" for k in keys)
        in report
    )
    assert "--kubernetes-groups initech-admins" in report
