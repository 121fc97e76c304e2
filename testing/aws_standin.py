"""A stand-in `aws` resource plugin for the engine tests: never use it outside tests.

It stands in for the AWS API, not for the engine. The real AWS provider cannot be built here (its Go module
replaces the Terraform provider with a local patched copy), so the Pulumi engine starts this process as
`pulumi-resource-aws` and talks the provider protocol to it over gRPC, exactly as to the real plugin: it
checks config and inputs, diffs, creates, updates and deletes. It answers for the pinned pulumi-aws version,
returns each resource's inputs as its outputs plus the values AWS would compute (ARNs, endpoints: the offline
render's `stacks.offline.computed`, so engine and offline outputs agree), with a stable fake id, and records
every call as one JSON line in the file named by AWS_STANDIN_RECORD.

What it does not do, unlike the real provider: auto-name resources in Check (inputs stay as given), decide
replacements from force-new properties (every change is an in-place update), or call AWS.

    python -m testing.aws_standin ENGINE_ADDRESS   (the engine starts it; it prints its port first)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

from stacks.offline.computed import computed_outputs

VERSION = "7.51.1"
"""The pinned pulumi-aws (requirements.txt); the SDK asks the engine for a plugin of this version."""
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a value not known until apply (`plugin.UnknownStringValue`)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
RECORD_ENV = "AWS_STANDIN_RECORD"


def to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def plain(value: Any) -> Any:
    """A property value with secrets unwrapped, for computing outputs from it."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return plain(value.get("value"))
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def type_and_name(urn: str) -> tuple[str, str]:
    """`urn:pulumi:<stack>::<project>::<parent types $>$<type>::<name>` -> (type, name)."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


def fake_id(urn: str) -> str:
    """Stable across runs and processes, different for every resource."""
    _, name = type_and_name(urn)
    return f"{name}-{hashlib.sha256(urn.encode()).hexdigest()[:8]}"


class StandIn(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, record: str | None):
        self.record_path = record
        self.lock = threading.Lock()
        self.region = "us-east-1"

    def record(self, method: str, **fields: Any) -> None:
        if not self.record_path:
            return
        line = json.dumps({"method": method, **fields}, sort_keys=True)
        with self.lock, open(self.record_path, "a") as out:
            out.write(line + "\n")

    def outputs(self, urn: str, inputs: dict[str, Any], preview: bool) -> dict[str, Any]:
        type_, name = type_and_name(urn)
        computed = computed_outputs(type_, name, plain(inputs), self.region)
        if preview:
            computed = dict.fromkeys(computed, UNKNOWN)
        return {**inputs, **computed}

    def GetPluginInfo(self, request: empty_pb2.Empty, context: Any) -> plugin_pb2.PluginInfo:  # noqa: N802
        return plugin_pb2.PluginInfo(version=VERSION)

    def CheckConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("CheckConfig", urn=request.urn)
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("DiffConfig", urn=request.urn)
        return self._diff(request)

    def Configure(self, request: Any, context: Any) -> Any:  # noqa: N802
        args = to_dict(request.args)
        region = args.get("region") or dict(request.variables).get("aws:config:region")
        if isinstance(region, str) and region and region != UNKNOWN:
            self.region = region
        self.record("Configure", region=self.region)
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=True, acceptResources=True)

    def Check(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("Check", urn=request.urn)
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> Any:  # noqa: N802
        response = self._diff(request)
        self.record("Diff", urn=request.urn, changes=list(response.diffs))
        return response

    def _diff(self, request: Any) -> Any:
        old, new = to_dict(request.old_inputs), to_dict(request.news)
        changed = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
        if not changed:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_SOME, diffs=changed)

    def Create(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("Create", urn=request.urn, preview=request.preview)
        outputs = self.outputs(request.urn, to_dict(request.properties), request.preview)
        return provider_pb2.CreateResponse(
            id="" if request.preview else fake_id(request.urn), properties=to_struct(outputs)
        )

    def Read(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("Read", urn=request.urn)
        return provider_pb2.ReadResponse(id=request.id, properties=request.properties, inputs=request.inputs)

    def Update(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.record("Update", urn=request.urn, preview=request.preview)
        outputs = self.outputs(request.urn, to_dict(request.news), request.preview)
        return provider_pb2.UpdateResponse(properties=to_struct(outputs))

    def Delete(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802
        self.record("Delete", urn=request.urn)
        return empty_pb2.Empty()

    def Cancel(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802
        return empty_pb2.Empty()


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandIn(os.environ.get(RECORD_ENV)), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)  # the engine reads the port from the first line
    server.wait_for_termination()


if __name__ == "__main__":
    main()
    sys.exit(0)
