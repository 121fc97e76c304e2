"""Kubernetes resource quantities: parsed once so settings can compare CPU and memory numerically."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

_QUANTITY = re.compile(r"^(?P<num>\d+(\.\d+)?)(?P<suffix>m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
}
GIB = _FACTORS["Gi"]


def parse_quantity(value: str) -> Decimal:
    match = _QUANTITY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (for example 500m, 2, 512Mi, 10Gi)")
    return Decimal(match["num"]) * _FACTORS[match["suffix"]]


def _check(value: str | int | float) -> str:
    text = str(value)
    parse_quantity(text)
    return text


Quantity = Annotated[str | int | float, AfterValidator(_check)]


def format_cpu(cores: Decimal) -> str:
    millis = int((cores * 1000).to_integral_value())
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(value: Decimal) -> str:
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        factor = _FACTORS[suffix]
        if value >= factor and value % factor == 0:
            return f"{int(value / factor)}{suffix}"
    return str(int(value))
