"""Namespaces and pods of the rendered stacks: Pod Security pinned, no unused API token, explicit high IDs."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components import database_users
from conventions.labels import POD_SECURITY, POD_SECURITY_MODES, TENANT_ID
from tests.conftest import STACKS, load_manifests
from tests.stacks import pod_oracle
from tests.stacks.conftest import stack_settings
from tests.stacks.pss_oracle import pod_specs

Rendered = Callable[[str], Path]
NEEDS_THE_API: set[tuple[str, str]] = set()
"""(namespace, workload) of pods that call the Kubernetes API: none the program renders does."""


def _manifests(rendered: Rendered, stack: str) -> list[dict[str, Any]]:
    return list(load_manifests(rendered(stack)).values())


@pytest.mark.parametrize("stack", STACKS)
def test_every_namespace_pins_pod_security_in_every_mode(rendered: Rendered, stack: str) -> None:
    """Pod Security admission reads `<mode>-version`, default `latest`: unpinned, an upgrade of the control plane
    changes what `enforce` refuses (https://kubernetes.io/docs/concepts/security/pod-security-admission/
    #pod-security-admission-labels-for-namespaces). `audit` and `warn` report what `enforce` would refuse."""
    version = f"v{stack_settings(stack).cluster.kubernetes_version}"
    namespaces = [m for m in _manifests(rendered, stack) if m["kind"] == "Namespace"]
    assert any(m["metadata"]["name"] == stack_settings(stack).data.bootstrap_namespace for m in namespaces)
    for ns in namespaces:
        labels = ns["metadata"].get("labels", {})
        for mode in POD_SECURITY_MODES:
            assert labels.get(f"{POD_SECURITY}/{mode}") == "restricted", (ns["metadata"]["name"], mode)
            assert labels.get(f"{POD_SECURITY}/{mode}-version") == version, (ns["metadata"]["name"], mode)


def test_the_token_rule_mounts_unless_the_pod_or_its_account_opts_out() -> None:
    accounts = {"quiet": {"automountServiceAccountToken": False}, "plain": {}}
    assert pod_oracle.api_token_mounted({}, accounts)
    assert pod_oracle.api_token_mounted({"serviceAccountName": "plain"}, accounts)
    assert not pod_oracle.api_token_mounted({"serviceAccountName": "quiet"}, accounts)
    assert pod_oracle.api_token_mounted({"serviceAccountName": "quiet", "automountServiceAccountToken": True}, accounts)
    assert not pod_oracle.api_token_mounted({"automountServiceAccountToken": False}, accounts)


@pytest.mark.parametrize("stack", STACKS)
def test_no_pod_gets_an_api_token_it_does_not_use(rendered: Rendered, stack: str) -> None:
    """CKV_K8S_38. IRSA pods keep their AWS identity: the EKS Pod Identity webhook injects its own projected
    token volume (`aws-iam-token`), independent of the API token automount."""
    manifests = _manifests(rendered, stack)
    accounts: dict[str | None, dict[str, dict[str, Any]]] = {}
    for m in manifests:
        if m["kind"] == "ServiceAccount":
            accounts.setdefault(m["metadata"].get("namespace"), {})[m["metadata"]["name"]] = m
    mounted = [
        (m["metadata"].get("namespace"), m["metadata"]["name"])
        for m in manifests
        for pod in pod_specs(m)
        if pod_oracle.api_token_mounted(pod, accounts.get(m["metadata"].get("namespace"), {}))
    ]
    assert any(m["kind"] == "Job" for m in manifests)
    assert set(mounted) == NEEDS_THE_API


def test_the_identity_rule_refuses_the_images_user_a_low_uid_and_the_root_group() -> None:
    assert pod_oracle.identity_problems({"containers": [{"name": "a"}]}) == [
        "a: no runAsUser, runs as the image's USER",
        "a: primary group is root (runAsGroup None)",
    ]
    low = {"securityContext": {"runAsUser": 10001, "runAsGroup": 10001}}
    low["containers"] = [{"name": "b", "securityContext": {"runAsUser": 1000}}]
    assert pod_oracle.identity_problems(low) == ["b: runAsUser 1000 is below 10000"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_container_runs_as_an_explicit_high_uid_and_a_non_root_group(rendered: Rendered, stack: str) -> None:
    """CKV_K8S_40 and the kubelet's defaults (see pod_oracle): the Job that reads every master secret included."""
    failures = {
        f"{m['metadata'].get('namespace')}/{m['metadata']['name']}": found
        for m in _manifests(rendered, stack)
        for pod in pod_specs(m)
        if (found := pod_oracle.identity_problems(pod))
    }
    assert failures == {}


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_account_in_a_tenant_namespace_names_its_tenant(rendered: Rendered, stack: str) -> None:
    tenants = {t.namespace(stack_settings(stack).environment): t.id for t in stack_settings(stack).tenants}
    accounts = [
        m
        for m in _manifests(rendered, stack)
        if m["kind"] == "ServiceAccount" and m["metadata"]["namespace"] in tenants
    ]
    assert any(m["metadata"]["name"] == "secrets-reader" for m in accounts)
    for m in accounts:
        labels = m["metadata"].get("labels", {})
        assert labels.get(TENANT_ID) == tenants[m["metadata"]["namespace"]], m["metadata"]


def _fetch(tmp_path: Path, answer: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the Job's FETCH script under /bin/sh with `aws` and `curl` stubs; the stub curl writes `answer`."""
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir(parents=True)
    work.mkdir()
    (bin_dir / "aws").write_text('#!/bin/sh\necho \'{"username":"u","password":"p"}\'\n')
    (bin_dir / "curl").write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS"\n'
        'while [ "$1" != "-o" ]; do shift; done\nprintf "%s" "$ANSWER" > "$2"\n'
    )
    for stub in ("aws", "curl"):
        (bin_dir / stub).chmod(0o755)
    script = database_users.FETCH.replace("/work/", f"{work}/")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ARGS": str(tmp_path / "args"),
        "ANSWER": answer,
        "AWS_REGION": "eu-west-1",
        "MASTER_SECRET_ARN": "arn",
        "RDS_CA_BUNDLE": database_users.rds_ca_bundle("eu-west-1"),
    }
    done = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    return done, (tmp_path / "args").read_text().split()


def test_the_bootstrap_job_fetches_its_ca_bundle_only_over_tls_and_fails_on_anything_else(tmp_path: Path) -> None:
    """A redirect or an error page (curl without -L writes the 3xx body and exits 0) never becomes the trust
    anchor: the Job stops before psql runs. `--proto =https` refuses plain HTTP, `--tlsv1.2` older TLS."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    done, args = _fetch(tmp_path / "pem", pem)
    assert done.returncode == 0, done.stderr
    assert {"--proto", "=https", "--tlsv1.2"} <= set(args) and "-L" not in args and "--location" not in args
    assert args[-1] == "https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem"
    moved, _ = _fetch(tmp_path / "moved", "<html>301 Moved Permanently</html>")
    assert moved.returncode != 0


@pytest.mark.parametrize("stack", STACKS)
def test_each_bootstrap_job_trusts_the_ca_bundle_of_its_databases_region(rendered: Rendered, stack: str) -> None:
    """Endpoints are `<instance>.<id>.<region>.rds.amazonaws.com`; the bundle of that region holds the CAs that
    sign its server certificates, the global bundle every region's."""
    jobs = [m for m in _manifests(rendered, stack) if m["kind"] == "Job" and m["metadata"]["name"].startswith("db-")]
    assert jobs
    for job in jobs:
        for container in [
            *job["spec"]["template"]["spec"]["initContainers"],
            *job["spec"]["template"]["spec"]["containers"],
        ]:
            env = {e["name"]: e.get("value") for e in container["env"]}
            region = env["PGHOST"].removesuffix(".rds.amazonaws.com").rsplit(".", 1)[1]
            assert env["RDS_CA_BUNDLE"] == f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
