"""How the gates reach Prometheus: directly, through the Kubernetes API server's service proxy, or signed
with AWS SigV4 (Amazon Managed Service for Prometheus).

A gate runs where `pulumi up` runs, often a CI runner outside the cluster, where a cluster-DNS address
such as `http://kube-prometheus-stack-prometheus.monitoring.svc:9090` does not resolve. The API server
proxies to any Service (`/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/<path>`,
https://kubernetes.io/docs/tasks/access-application-cluster/access-cluster-services/#manually-constructing-apiserver-proxy-urls),
so with `access: auto` a cluster-DNS URL is reached that way with the kubeconfig the runner already has
(the same route the smoke checks take to pods); an `aps-workspaces.<region>.amazonaws.com` URL is signed
with SigV4 from the default AWS credential chain (the runner's OIDC role); anything else is direct.
Everything is resolved at evaluation time and lives only in the client's session; any failure is a
`TransportError`, which the client reports as a fault (the gate fails closed).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
import yaml

from settings.gates import PrometheusAccess as Access

KUBECONFIG_ENV = "KUBECONFIG"
LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
CLUSTER_SERVICE = re.compile(rf"^(?P<name>{LABEL})\.(?P<namespace>{LABEL})\.svc(\.cluster\.local)?$")
AMP_HOST = re.compile(r"^aps-workspaces\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
SIGV4_SERVICE = "aps"


class TransportError(Exception):
    """How to reach Prometheus could not be worked out; the message says what to fix."""


@dataclass(frozen=True)
class Transport:
    """What a `requests` session needs to reach Prometheus: the base URL and how to authenticate."""

    base_url: str
    kind: str
    auth: requests.auth.AuthBase | None = field(default=None, repr=False)
    verify: bool | str = True

    def apply(self, session: requests.Session) -> str:
        if self.auth is not None:
            session.auth = self.auth
        session.verify = self.verify
        return self.base_url


def chosen_access(url: str, access: Access) -> Access:
    host = urlsplit(url).hostname or ""
    if access != "auto":
        return access
    if CLUSTER_SERVICE.match(host):
        return "kubernetes_proxy"
    if AMP_HOST.match(host):
        return "sigv4"
    return "direct"


def resolve(
    url: str, access: Access = "auto", region: str | None = None, env: Mapping[str, str] | None = None
) -> Transport | None:
    """The transport for `url`, or None when the client should talk to `url` itself (direct)."""
    env = os.environ if env is None else env
    chosen = chosen_access(url, access)
    if chosen == "kubernetes_proxy":
        return service_proxy(url, env)
    if chosen == "sigv4":
        return sigv4(url, region)
    return None


def proxy_path(url: str) -> str:
    """`http://<name>.<namespace>.svc[.cluster.local][:port][/prefix]` as the API server's proxy path."""
    parts = urlsplit(url)
    match = CLUSTER_SERVICE.match(parts.hostname or "")
    if not match:
        raise TransportError(
            f"Prometheus URL {url!r} is not a cluster Service address (<name>.<namespace>.svc[:port]); "
            "the API-server proxy needs one (gates.prometheus.url)"
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    service = f"{parts.scheme}:{match['name']}:{port}"
    return f"/api/v1/namespaces/{match['namespace']}/services/{service}/proxy{parts.path.rstrip('/')}"


def service_proxy(url: str, env: Mapping[str, str]) -> Transport:
    cluster, user = _kubeconfig(env)
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise TransportError(f"the kubeconfig's cluster has no server URL (got {server!r})")
    verify: bool | str = True
    if cluster.get("insecure-skip-tls-verify"):
        verify = False
    elif cluster.get("certificate-authority-data"):
        verify = _temp_file(base64.b64decode(cluster["certificate-authority-data"]), ".crt")
    elif cluster.get("certificate-authority"):
        verify = str(cluster["certificate-authority"])
    # A bearer token or a credential plugin (EKS: `aws eks get-token`); client certificates are not read,
    # so no private key is ever written to disk.
    token = user.get("token") or (_exec_token(user["exec"], env) if user.get("exec") else None)
    if not token:
        raise TransportError("the kubeconfig's user has no token or exec credential plugin")
    return Transport(server + proxy_path(url), "Kubernetes API-server proxy", _Bearer(token), verify)


def sigv4(url: str, region: str | None) -> Transport:
    host = urlsplit(url).hostname or ""
    match = AMP_HOST.match(host)
    region = region or (match["region"] if match else None)
    if not region:
        raise TransportError(f"SigV4 needs a region: set gates.prometheus.region for {url!r}")
    try:
        import botocore.session
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        raise TransportError("SigV4 needs botocore (requirements.txt)") from None
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise TransportError("SigV4: no AWS credentials (environment, profile or web identity) were found")
    return Transport(url.rstrip("/"), f"SigV4 ({SIGV4_SERVICE}, {region})", SigV4(credentials, region))


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


class SigV4(requests.auth.AuthBase):
    """Signs each prepared request (method, path, query, host) with botocore's own SigV4 signer."""

    def __init__(self, credentials: Any, region: str, service: str = SIGV4_SERVICE):
        self._credentials = credentials
        self.region = region
        self.service = service

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self._credentials
        frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else credentials
        # Send the query exactly as SigV4 canonicalises it (RFC 3986, `%20` not `+`), so what is signed and
        # what the service decodes cannot differ.
        parts = urlsplit(request.url or "")
        query = urlencode(parse_qsl(parts.query, keep_blank_values=True), quote_via=quote, safe="-_.~")
        request.url = urlunsplit(parts._replace(query=query))
        aws = AWSRequest(method=request.method, url=request.url, data=request.body or b"")
        SigV4Auth(frozen, self.service, self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        return request


def _kubeconfig(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    paths = [Path(p) for p in env.get(KUBECONFIG_ENV, "").split(os.pathsep) if p] or [Path.home() / ".kube/config"]
    documents = []
    for path in paths:
        try:
            documents.append(yaml.safe_load(path.read_text()) or {})
        except OSError as exc:
            raise TransportError(f"cannot read the kubeconfig {path}: {exc.strerror or exc}") from None
        except yaml.YAMLError:
            raise TransportError(f"the kubeconfig {path} is not YAML") from None
    current = next((d.get("current-context") for d in documents if d.get("current-context")), None)
    if not current:
        raise TransportError("the kubeconfig has no current-context (aws eks update-kubeconfig sets one)")

    def named(section: str, name: str) -> dict[str, Any]:
        for document in documents:
            for entry in document.get(section) or []:
                if entry.get("name") == name:
                    return entry.get(section[:-1]) or {}
        raise TransportError(f"the kubeconfig has no {section[:-1]} {name!r}")

    context = named("contexts", current)
    return named("clusters", str(context.get("cluster"))), named("users", str(context.get("user")))


def _exec_token(spec: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """A client-go credential plugin (e.g. `aws eks get-token`): its ExecCredential's `status.token`."""
    command = [str(spec.get("command")), *map(str, spec.get("args") or [])]
    extra = {str(e["name"]): str(e["value"]) for e in spec.get("env") or []}
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, env={**env, **extra}, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TransportError(f"the kubeconfig's credential plugin {command[0]!r} did not run: {exc}") from None
    if result.returncode != 0:
        raise TransportError(f"the credential plugin {command[0]!r} failed: {result.stderr.strip()[:200]}")
    try:
        token = json.loads(result.stdout)["status"]["token"]
    except (ValueError, KeyError, TypeError):
        raise TransportError(f"the credential plugin {command[0]!r} printed no ExecCredential token") from None
    return str(token)


def _temp_file(content: bytes, suffix: str) -> str:
    with tempfile.NamedTemporaryFile(prefix="agent-platform-", suffix=suffix, delete=False) as handle:
        handle.write(content)
    return handle.name
