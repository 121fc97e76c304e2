"""The agent contract's series in the metrics catalog: what the gate's checks and the cost alerts may rely on."""

from __future__ import annotations

import re

from conventions.metrics import (
    AGENT_ID,
    CATALOG,
    LLM_RESPONSES,
    LLM_TOKENS,
    TENANT_ID,
    TOKEN_TYPE,
    TOOL_CALLS,
    TOOL_FAILURES,
    VERSION,
    required_metrics,
)
from gates.queries import Selector, agent_queries


def test_the_contract_requires_the_series_the_agent_checks_read() -> None:
    required = {m.name for m in required_metrics()}
    assert {LLM_TOKENS.name, TOOL_CALLS.name, TOOL_FAILURES.name, LLM_RESPONSES.name} <= required
    assert all(CATALOG[name].source == "runtime" for name in required)


def test_required_series_are_per_agent_tenant_and_version() -> None:
    for metric in required_metrics():
        assert {AGENT_ID, TENANT_ID, VERSION} <= set(metric.labels), metric.name
        assert metric.type in ("counter", "histogram"), f"{metric.name}: the gate counts with increase()"


def test_tokens_are_split_by_type_and_priced_per_model() -> None:
    assert TOKEN_TYPE in LLM_TOKENS.labels and "model" in LLM_TOKENS.labels


def test_tool_failures_carry_the_labels_of_tool_calls() -> None:
    """The failed share divides one by the other: a label only one of them has would split the ratio."""
    assert TOOL_FAILURES.labels == TOOL_CALLS.labels


def test_every_agent_check_reads_only_series_the_contract_requires() -> None:
    """A check on a series the contract does not require could pass on an image that never exports it."""
    labels = {"agent_id": "agent_id", "version": "version", "tenant_id": "tenant_id", "status": "status"}
    queries = agent_queries(Selector("ns", "a", "1", "t", labels), 60, {"m": (1.0, 2.0)})
    required = {m.name for m in required_metrics()}
    for field, promql in vars(queries).items():
        names = set(re.findall(r"\b(agent_[a-z_]+)\{", promql))
        assert names and names <= required, (field, names - required)
