"""The gate reaches a real Prometheus the ways a CI runner can: through the Kubernetes API server's service
proxy, and signed with AWS SigV4 for Amazon Managed Prometheus.

The stand-in API server accepts only what the real one routes to a Service: the proxy path form
`/api/v1/namespaces/<namespace>/services/<scheme>:<name>:<port>/proxy/<path>` (Kubernetes docs, "Manually
constructing apiserver proxy URLs":
https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls)
with the kubeconfig user's bearer token, then forwards the rest to Prometheus. The SigV4 stand-in recomputes
the signature of every request from the AWS Signature Version 4 specification (canonical request, string to
sign, derived key: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html); that verifier
is itself checked against the `get-vanilla` vector of the AWS SigV4 test suite.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
import requests
import yaml

from gates.cli import main
from gates.prometheus import Credentials, Limits, PrometheusClient, QueryError
from gates.transport import TransportError, chosen_access, proxy_path, resolve
from tests.gates.scenarios import EVALUATED_AT
from tests.gates.test_gate_cli import AT, stack_root, state_file

SERVICE = "kube-prometheus-stack-prometheus"
CLUSTER_URL = f"http://{SERVICE}.monitoring.svc:9090"
TOKEN = "k8s-token-from-exec-plugin"
PROXY_PATH = re.compile(
    r"^/api/v1/namespaces/(?P<namespace>[a-z0-9-]+)/services/(?P<scheme>https?):(?P<name>[a-z0-9-]+):(?P<port>\d+)"
    r"/proxy(?P<rest>/.*)$"
)
ACCESS_KEY, SECRET_KEY = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class Forwarder(http.server.BaseHTTPRequestHandler):
    """Checks a request (`check` returns the path to forward, or an HTTP status and reason) and relays it."""

    upstream = ""
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        verdict = self.check()
        if isinstance(verdict, tuple):
            self.send_response(verdict[0])
            self.end_headers()
            self.wfile.write(verdict[1].encode())
            return
        answer = requests.get(self.upstream + verdict, timeout=10)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
        self.end_headers()
        self.wfile.write(answer.content)

    def check(self) -> str | tuple[int, str]:
        raise NotImplementedError

    def log_message(self, *_: object) -> None:
        pass


class ApiServer(Forwarder):
    def check(self) -> str | tuple[int, str]:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, "Unauthorized"
        match = PROXY_PATH.match(self.path)
        if not match:
            return 404, "not a service proxy path"
        if (match["namespace"], match["scheme"], match["name"], match["port"]) != (
            "monitoring",
            "http",
            SERVICE,
            "9090",
        ):
            return 503, f"no endpoints for {match['namespace']}/{match['name']}:{match['port']}"
        return match["rest"]


def signature(method: str, path: str, query: str, headers: dict[str, str], signed: list[str], key_scope: str) -> str:
    """SigV4 from the specification: not botocore's code, so the two can disagree."""
    date, region, service, _ = key_scope.split("/")
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in parse_qsl(query, keep_blank_values=True))
    canonical = "\n".join(
        [
            method,
            quote(path, safe="/-_.~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{h}:{' '.join(headers[h].split())}\n" for h in signed),
            ";".join(signed),
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    amz_date = headers["x-amz-date"]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, key_scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{SECRET_KEY}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_verifier_reproduces_the_aws_sigv4_test_suite() -> None:
    """`get-vanilla` of the AWS Signature Version 4 test suite (also shipped in botocore's tests)."""
    headers = {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
    assert (
        signature("GET", "/", "", headers, ["host", "x-amz-date"], "20150830/us-east-1/service/aws4_request")
        == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


class SigV4Verifier(Forwarder):
    region = "eu-west-1"

    def check(self) -> str | tuple[int, str]:
        found = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), SignedHeaders=(?P<signed>[^,]+), "
            r"Signature=(?P<sig>[0-9a-f]{64})",
            self.headers.get("Authorization", ""),
        )
        if not found or found["key"] != ACCESS_KEY:
            return 403, "missing or foreign SigV4 authorization"
        scope = found["scope"]
        if scope.split("/")[1:] != [self.region, "aps", "aws4_request"]:
            return 403, f"credential scope {scope} is not for aps in {self.region}"
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = urlsplit(self.path)
        expected = signature("GET", parts.path, parts.query, headers, found["signed"].split(";"), scope)
        if not hmac.compare_digest(expected, found["sig"]):
            return 403, "The request signature we calculated does not match the signature you provided"
        return self.path


@contextmanager
def serving(handler: type[Forwarder], upstream: str) -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    bound = type(handler.__name__, (handler,), {"upstream": upstream, "seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), bound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(tmp_path: Path, server: str) -> Path:
    """What `aws eks update-kubeconfig` writes: a context whose user runs a credential plugin."""
    plugin = tmp_path / "get_token.py"
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential"}
    plugin.write_text(f"import json\nprint(json.dumps({credential | {'status': {'token': TOKEN}}!r}))\n")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "prod",
        "contexts": [{"name": "prod", "context": {"cluster": "agents-prod", "user": "deployer"}}],
        "clusters": [{"name": "agents-prod", "cluster": {"server": server}}],
        "users": [{"name": "deployer", "user": {"exec": {"command": sys.executable, "args": [str(plugin)]}}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_auto_access_picks_the_proxy_for_cluster_dns_and_sigv4_for_amp() -> None:
    assert chosen_access(CLUSTER_URL, "auto") == "kubernetes_proxy"
    assert chosen_access(f"http://{SERVICE}.monitoring.svc.cluster.local:9090", "auto") == "kubernetes_proxy"
    assert chosen_access("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1", "auto") == "sigv4"
    assert chosen_access("http://127.0.0.1:9090", "auto") == "direct"
    assert proxy_path(CLUSTER_URL) == f"/api/v1/namespaces/monitoring/services/http:{SERVICE}:9090/proxy"


def test_a_cluster_dns_gate_reaches_prometheus_through_the_api_server(
    tmp_path: Path, prometheus, capsys, monkeypatch
) -> None:
    """The committed default URL, evaluated from outside the cluster: the gate decides instead of `error`."""
    with serving(ApiServer, prometheus.url) as (api_server, seen):
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path, api_server)))
        root = stack_root(tmp_path, CLUSTER_URL, ["healthy"])
        status = main(["prod", "--root", str(root), "--state", str(state_file(tmp_path, ["healthy"])), "--at", AT])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "SLO gate healthy/acme 50%: PASS" in out
    assert seen and all(PROXY_PATH.match(p)["rest"].startswith("/api/v1/query") for p in seen)


def test_the_proxy_without_a_token_is_a_fault_not_a_verdict(tmp_path: Path, prometheus, monkeypatch) -> None:
    with serving(ApiServer, prometheus.url) as (api_server, _):
        path = kubeconfig(tmp_path, api_server)
        config = yaml.safe_load(path.read_text())
        config["users"][0]["user"] = {"token": "wrong"}
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("KUBECONFIG", str(path))
        with (
            PrometheusClient(CLUSTER_URL, Credentials(), Limits(2, 10, 0)) as client,
            pytest.raises(QueryError, match=r"HTTP 401 .*Kubernetes API-server proxy refused the runner's identity"),
        ):
            client.query("vector(1)", EVALUATED_AT)


def test_no_kubeconfig_is_a_fault_naming_it(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(TransportError, match="cannot read the kubeconfig"):
        resolve(CLUSTER_URL, env={"KUBECONFIG": str(tmp_path / "missing")})
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(QueryError, match=f"cannot reach Prometheus at {CLUSTER_URL}: cannot read the kubeconfig"):
        PrometheusClient(CLUSTER_URL, Credentials(), Limits())


def test_sigv4_requests_carry_a_signature_the_verifier_accepts(prometheus, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with serving(SigV4Verifier, prometheus.url) as (url, seen):
        with PrometheusClient(url, Credentials(), Limits(5, 20, 0), access="sigv4", region="eu-west-1") as client:
            # A query with characters that must be encoded exactly as the signer encoded them.
            value = client.query('count(up{job=~"a|b"}) or vector(1)', EVALUATED_AT)
        assert value == 1.0 and len(seen) == 1
        with (
            PrometheusClient(url, Credentials(), Limits(5, 20, 0), access="sigv4", region="us-east-1") as client,
            pytest.raises(QueryError, match="HTTP 403"),
        ):
            client.query("vector(1)", EVALUATED_AT)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        with (
            PrometheusClient(url, Credentials(), Limits(5, 20, 0), access="sigv4", region="eu-west-1") as client,
            pytest.raises(QueryError, match="HTTP 403"),
        ):
            client.query("vector(1)", EVALUATED_AT)


def test_sigv4_takes_the_region_from_the_workspace_host(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    transport = resolve("https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1")
    assert transport is not None and transport.kind == "SigV4 (aps, eu-west-1)"
    assert transport.base_url == "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1"


def test_the_cli_can_query_another_prometheus_for_one_run(tmp_path: Path, prometheus, capsys) -> None:
    """The stack file keeps its cluster URL; `--prometheus-url` (e.g. a port-forward) answers for this run."""
    root = stack_root(tmp_path, CLUSTER_URL, ["healthy"])
    state = str(state_file(tmp_path, ["healthy"]))
    args = ["prod", "--root", str(root), "--state", state, "--at", AT]
    assert main([*args, "--prometheus-url", prometheus.url, "--prometheus-access", "direct"]) == 0
    assert "SLO gate healthy/acme 50%: PASS" in capsys.readouterr().out
