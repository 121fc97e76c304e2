"""Schema validation of rendered Kubernetes objects: core kinds strictly, custom resources by their CRD schema.

Core kinds use kubernetes-validate's strict schemas for the pinned Kubernetes version. Custom resources
use the pydantic models generated from the CRDs (PyPI `cloudcoil-models-*`) or the npm
`@kubernetes-models/*` packages. A kind with no schema is an error unless it is listed in
`NO_SCHEMA` with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
from pydantic import BaseModel, ValidationError

KUBERNETES_VERSION = "1.31.0"
NPM_DIR = Path(__file__).with_name("schemas")

_CLOUDCOIL = {
    "monitoring.coreos.com/v1": (
        "cloudcoil.models.prometheus_operator.v1",
        ["ServiceMonitor", "PrometheusRule", "PodMonitor"],
    ),
    "monitoring.coreos.com/v1alpha1": ("cloudcoil.models.prometheus_operator.v1alpha1", ["AlertmanagerConfig"]),
    "velero.io/v1": ("cloudcoil.models.velero.v1", ["Schedule", "BackupStorageLocation", "VolumeSnapshotLocation"]),
    "cert-manager.io/v1": ("cloudcoil.models.cert_manager.v1", ["Certificate", "ClusterIssuer", "Issuer"]),
}
_NPM = {
    ("argoproj.io/v1alpha1", "Application"),
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1", "SecretStore"),
    ("external-secrets.io/v1beta1", "ExternalSecret"),
    ("external-secrets.io/v1beta1", "SecretStore"),
}
CRD_DIR = Path(__file__).with_name("crds")
_VENDORED_CRDS = {
    # pulumi/pulumi-kubernetes-operator deploy/crds/pulumi.com_stacks.yaml at the commit the file names.
    ("pulumi.com/v1", "Stack"): CRD_DIR / "pulumi.com_stacks_v1.json",
}
NO_SCHEMA: dict[tuple[str, str], str] = {
    ("autoscaling.k8s.io/v1", "VerticalPodAutoscaler"): (
        "the VPA project publishes its CRD only inside its Helm chart and repository; "
        "no PyPI cloudcoil-models or npm @kubernetes-models package ships it"
    ),
}


@cache
def _cloudcoil_model(api_version: str, kind: str) -> type[BaseModel] | None:
    entry = _CLOUDCOIL.get(api_version)
    if entry is None or kind not in entry[1]:
        return None
    module = __import__(entry[0], fromlist=[kind])
    return getattr(module, kind)


def _unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """The generated models ignore unknown keys; compare a round trip to find what they dropped."""
    if isinstance(given, dict) and isinstance(kept, dict):
        found = []
        for key, value in given.items():
            where = f"{path}.{key}" if path else key
            if key not in kept:
                found.append(where)
            else:
                found += _unknown_fields(value, kept[key], where)
        return found
    if isinstance(given, list) and isinstance(kept, list):
        return [
            f for i, (a, b) in enumerate(zip(given, kept, strict=False)) for f in _unknown_fields(a, b, f"{path}[{i}]")
        ]
    return []


def _validate_cloudcoil(model: type[BaseModel], obj: dict[str, Any]) -> str:
    try:
        parsed = model.model_validate(obj)
    except ValidationError as error:
        return str(error)
    kept = parsed.model_dump(by_alias=True, exclude_unset=True, mode="json")
    unknown = _unknown_fields(obj, kept)
    return f"unknown fields: {', '.join(unknown)}" if unknown else ""


@cache
def _vendored_schema(api_version: str, kind: str) -> dict[str, Any] | None:
    path = _VENDORED_CRDS.get((api_version, kind))
    return None if path is None else json.loads(path.read_text())["openAPIV3Schema"]


def _undeclared(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields a structural schema does not declare: the API server prunes them, so the object is not what it says."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(obj, dict) and schema.get("type") == "object" and path != "metadata":
        props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        found = []
        for key, value in obj.items():
            where = f"{path}.{key}" if path else key
            if key in props:
                found += _undeclared(value, props[key], where)
            elif isinstance(extra, dict):
                found += _undeclared(value, extra, where)
            elif extra is not True:
                found.append(where)
        return found
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [f for i, item in enumerate(obj) for f in _undeclared(item, schema["items"], f"{path}[{i}]")]
    return []


def validate_vendored_crd(obj: dict[str, Any]) -> str:
    """Against the CRD's own openAPIV3Schema: types, enums and required fields, then undeclared fields."""
    import jsonschema

    schema = _vendored_schema(obj.get("apiVersion", ""), obj.get("kind", ""))
    assert schema is not None
    try:
        jsonschema.validate(obj, schema)
    except jsonschema.ValidationError as failure:
        return f"{failure.message} at {'.'.join(str(p) for p in failure.path)}"
    unknown = _undeclared(obj, schema)
    return f"unknown fields: {', '.join(unknown)}" if unknown else ""


def _validate_npm(objects: list[dict[str, Any]]) -> list[str]:
    if not objects:
        return []
    if shutil.which("node") is None or not (NPM_DIR / "node_modules").exists():
        raise RuntimeError(f"npm schema packages missing: run `npm ci --prefix {NPM_DIR}` (the test command does)")
    result = subprocess.run(
        ["node", str(NPM_DIR / "validate.mjs")],
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        check=True,
        cwd=NPM_DIR,
    )
    return json.loads(result.stdout)


def validate_objects(objects: list[dict[str, Any]]) -> dict[int, str]:
    """Index of each invalid object -> the reason. Every object is checked against some schema or fails."""
    errors: dict[int, str] = {}
    npm: list[tuple[int, dict[str, Any]]] = []
    for index, obj in enumerate(objects):
        key = (obj.get("apiVersion", ""), obj.get("kind", ""))
        model = _cloudcoil_model(*key)
        if model is not None:
            error = _validate_cloudcoil(model, obj)
        elif key in _VENDORED_CRDS:
            error = validate_vendored_crd(obj)
        elif key in _NPM:
            npm.append((index, obj))
            continue
        elif key in NO_SCHEMA:
            continue
        else:
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
                error = ""
            except kubernetes_validate.SchemaNotFoundError:
                error = f"no schema found for {key[0]} {key[1]}"
            except kubernetes_validate.ValidationError as failure:
                error = f"{failure.message} at {'.'.join(str(p) for p in failure.path)}"
        if error:
            errors[index] = error
    for (index, _), error in zip(npm, _validate_npm([obj for _, obj in npm]), strict=True):
        if error:
            errors[index] = error
    return errors
