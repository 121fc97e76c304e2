"""The IAM-token contract of docs/data-access.md holds for every rendered tenant, and suffices to sign in.

Token rules encoded (from their sources): an RDS IAM token is botocore's `generate_db_auth_token`, a SigV4
presigned `connect` URL for service `rds-db` valid 900 s (botocore/signers.py); an ElastiCache IAM token is a
SigV4 presigned `http://<replication group>/?Action=connect&User=<user>` for service `elasticache`, valid 900 s
(ElastiCache user guide, "Authenticating with IAM"); both must be signed for the data's region.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from components.agent_service import SECRET_ENV
from tests.conftest import STACKS
from tests.stacks.conftest import Rendered

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-access.md"
TOKEN_SECONDS = 900
CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def env_of(r: Rendered, namespace: str) -> dict[str, str]:
    """The agents' environment from the Secret the ExternalSecret templates (IAM data keys only)."""
    (secret,) = [m for m in r.kinds("ExternalSecret") if m["metadata"]["namespace"] == namespace]
    data = secret["spec"]["target"]["template"]["data"]
    keys = r.settings.names.agent_secret_keys
    return {env: data[getattr(keys, field)] for env, field in SECRET_ENV.items() if getattr(keys, field) in data}


def rds_token(host: str, port: int, user: str, region: str) -> str:
    client = botocore.session.Session().create_client(
        "rds",
        region_name=region,
        aws_access_key_id=CREDENTIALS.access_key,
        aws_secret_access_key=CREDENTIALS.secret_key,
    )
    return client.generate_db_auth_token(host, port, user, Region=region)


def elasticache_token(group: str, user: str, region: str) -> str:
    request = AWSRequest(method="GET", url=f"http://{group}/", params={"Action": "connect", "User": user})
    SigV4QueryAuth(CREDENTIALS, "elasticache", region, expires=TOKEN_SECONDS).add_auth(request)
    return request.url.removeprefix("http://")


def test_the_doc_names_every_variable_and_limit() -> None:
    text = DOC.read_text()
    for name in SECRET_ENV:
        if name.endswith(("_URL", "_REGION", "_GROUP_ID")):
            assert f"`{name}`" in text, name
    for fact in ("15 minutes", "12 hours", "<tenant id>:", "AUTH <user> <token>", "generate_db_auth_token"):
        assert fact in text, fact


@pytest.mark.parametrize("stack", STACKS)
def test_every_tenant_can_sign_in_with_what_its_pods_get(data_render: Callable[[str], Rendered], stack: str) -> None:
    r = data_render(stack)
    s = r.settings
    users = {u["inputs"]["userName"]: u["inputs"] for u in r.of_type("aws:elasticache/user:User")}
    policies = [json.loads(p["inputs"]["policy"]) for p in r.of_type("aws:iam/rolePolicy:RolePolicy")]
    grants = {
        (action, resource)
        for policy in policies
        for statement in policy["Statement"]
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    for tenant in s.tenants:
        env = env_of(r, tenant.namespace(s.environment))
        region = env["AGENT_DATA_REGION"]
        db = urlsplit(env["DATABASE_URL"])
        assert (db.scheme, db.password, db.port) == ("postgresql", None, 5432)
        assert parse_qs(db.query)["sslmode"] == ["verify-full"]
        assert db.hostname and db.hostname.endswith(f".{region}.rds.amazonaws.com"), "token region = host's region"
        token = rds_token(db.hostname, db.port, db.username or "", region)
        query = parse_qs(urlsplit(f"https://{token}").query)
        assert query["X-Amz-Expires"] == [str(TOKEN_SECONDS)] and f"/{region}/rds-db/" in query["X-Amz-Credential"][0]
        assert any(
            a == "rds-db:connect" and res.endswith(f"/{db.username}") and f":{region}:" in res for a, res in grants
        )

        cache = urlsplit(env["REDIS_URL"])
        assert (cache.scheme, cache.password) == ("rediss", None), "TLS, and no password: the token is the password"
        user = users[cache.username]
        assert user["authenticationMode"]["type"] == "iam"
        assert user["userId"] == user["userName"], "ElastiCache IAM requires user id = user name"
        assert user["accessString"].startswith(f"on ~{tenant.id}:* &{tenant.id}:* "), "keys must carry <tenant>:"
        group = env["REDIS_REPLICATION_GROUP_ID"]
        assert cache.hostname and f".{group}." in f".{cache.hostname}"
        token = elasticache_token(group, cache.username, region)
        query = parse_qs(urlsplit(f"http://{token}").query)
        assert token.startswith(f"{group}/?") and query["User"] == [cache.username]
        assert (
            query["X-Amz-Expires"] == [str(TOKEN_SECONDS)] and f"/{region}/elasticache/" in query["X-Amz-Credential"][0]
        )
        assert (
            "elasticache:Connect",
            f"arn:aws:elasticache:{region}:{user_arn_account(grants, region)}:user:{cache.username}",
        ) in grants


def user_arn_account(grants: set[tuple[str, str]], region: str) -> str:
    """The account in the rendered ElastiCache ARNs (the mock engine's, offline)."""
    for action, resource in grants:
        if action == "elasticache:Connect" and f":{region}:" in resource:
            return resource.split(":")[4]
    raise AssertionError(f"no elasticache:Connect grant in {region}")


@pytest.mark.parametrize("stack", STACKS)
def test_every_agent_pod_verifies_its_database_certificate(data_render: Callable[[str], Rendered], stack: str) -> None:
    """libpq checks the server certificate only with `sslmode=verify-ca` or `verify-full`; `require` encrypts but
    trusts any certificate, and `verify-full` also matches the host name (https://www.postgresql.org/docs/16/
    libpq-ssl.html#LIBPQ-SSL-PROTECTION). `sslrootcert` is a file the pod must hold when it connects: an init
    container writes the bundle of the host's region into a volume the agent mounts read-only."""
    r = data_render(stack)
    s = r.settings
    workloads = [
        w
        for w in r.kinds("Deployment") + r.kinds("StatefulSet")
        if any(c["name"] == "agent" for c in w["spec"]["template"]["spec"]["containers"])
    ]
    for tenant in s.tenants:
        namespace = tenant.namespace(s.environment)
        db = urlsplit(env_of(r, namespace)["DATABASE_URL"])
        query = parse_qs(db.query)
        assert query["sslmode"] == ["verify-full"]
        (root,) = query["sslrootcert"]
        region = (db.hostname or "").removesuffix(".rds.amazonaws.com").rsplit(".", 1)[1]
        agents = [w for w in workloads if w["metadata"]["namespace"] == namespace]
        assert agents, namespace
        for workload in agents:
            pod = workload["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in pod["volumes"]}
            (agent,) = [c for c in pod["containers"] if c["name"] == "agent"]
            (mount,) = [m for m in agent["volumeMounts"] if root.startswith(m["mountPath"].rstrip("/") + "/")]
            assert mount.get("readOnly") is True and "emptyDir" in volumes[mount["name"]]
            (fetch,) = [c for c in pod["initContainers"] if any(m["name"] == mount["name"] for m in c["volumeMounts"])]
            env = {e["name"]: e["value"] for e in fetch["env"]}
            assert env["RDS_CA_BUNDLE"] == f"https://truststore.pki.rds.amazonaws.com/{region}/{region}-bundle.pem"
            script = fetch["command"][-1]
            assert f"-o {root} " in script and "--proto =https --tlsv1.2" in script and "-L" not in script.split()
