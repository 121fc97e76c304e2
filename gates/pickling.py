"""Pickling dynamic providers without the SDK's pickler patches piling up.

`pulumi.dynamic.dynamic.serialize_provider` (pulumi 3.272.0) sorts dictionaries by installing a wrapper
on `pickle._Pickler._batch_setitems` and `save_dict` on every call, and restores only `pickle.Pickler`.
Each call therefore wraps the previous call's wrapper: one program (or test process) that creates a few
hundred dynamic resources pickles a provider through hundreds of nested wrappers and ends in
`RecursionError` (an SloGate provider fails at the 487th; pulumi/pulumi#17803 reports the error and was
closed without a reproduction). Every dynamic resource here derives from `DynamicResource`, and code that
pickles a provider itself calls `serialize_provider` from here: both put the pickler back as they found
it, so the wrapping stays one level deep and the pickled bytes are the SDK's own.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.dynamic import Resource, ResourceProvider
from pulumi.dynamic import dynamic as sdk_dynamic

_PATCHED = ("_batch_setitems", "save_dict")


@contextmanager
def pickler_restored() -> Iterator[None]:
    """Put back the pure-Python pickler's methods the SDK replaces while serializing a provider."""
    pickler: Any = pickle._Pickler
    saved = {name: pickler.__dict__[name] for name in _PATCHED}
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(pickler, name, method)


def serialize_provider(provider: ResourceProvider) -> str:
    """The SDK's serialization of a provider (base64 of its dill pickle), the pickler left as it was."""
    with pickler_restored():
        return str(sdk_dynamic.serialize_provider(provider))


class DynamicResource(Resource):
    """A `pulumi.dynamic.Resource` whose construction leaves the pickler as it found it."""

    def __init__(
        self,
        provider: ResourceProvider,
        name: str,
        props: dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        with pickler_restored():
            super().__init__(provider, name, props, opts)
