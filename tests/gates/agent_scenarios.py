"""Agent-check scenarios as OpenMetrics: the SLO series of `tests/gates/scenarios.py` plus the series the agent
contract requires (tokens by type and model, tool calls and failures, LLM responses by status code).

Per scrape (15 s) the amounts move with noise, so the per-minute counts the gate reads vary as real
traffic does (tokens per request by a log-normal factor, calls and failures binomially).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from conventions.metrics import LLM_RESPONSES, LLM_TOKENS, TOOL_CALLS, TOOL_FAILURES
from testing import openmetrics as om
from tests.gates.scenarios import CANARY, STABLE, STEP_SECONDS, Traffic, _labels, _times, track_lines

PRICES = {
    "small": {"input_per_million": 2.5, "output_per_million": 10.0},
    "big": {"input_per_million": 5.0, "output_per_million": 20.0},
}
TOOL_CALLS_PER_REQUEST = 2.0
LLM_CALLS_PER_REQUEST = 1.5


@dataclass(frozen=True)
class AgentTraffic:
    """One track's agent behaviour on top of its request traffic."""

    rps: float
    input_tokens: float = 1500.0  # per request
    output_tokens: float = 300.0
    model: str = "small"
    tool_failure_rate: float = 0.02
    llm_5xx_rate: float = 0.01
    token_noise: float = 0.2  # sigma of the log-normal factor on each scrape's tokens
    missing: frozenset[str] = field(default_factory=frozenset)  # series this track does not export


@dataclass(frozen=True)
class AgentScenario:
    name: str
    agent_id: str
    canary: AgentTraffic
    stable: AgentTraffic
    verdict: str
    reason: str
    failing: tuple[str, ...] = ()


SCENARIOS = [
    AgentScenario("agent healthy", "agent-healthy", AgentTraffic(20), AgentTraffic(60), "pass", "every check passed"),
    AgentScenario(
        "input tokens 1.5x",
        "agent-tokens",
        AgentTraffic(20, input_tokens=2250),
        AgentTraffic(60),
        "fail",
        "input_tokens_per_request",
        ("input_tokens_per_request", "cost_per_request"),
    ),
    AgentScenario(
        "output tokens 1.5x",
        "agent-output-tokens",
        AgentTraffic(20, output_tokens=450),
        AgentTraffic(60),
        "fail",
        "output_tokens_per_request",
        ("output_tokens_per_request", "cost_per_request"),
    ),
    AgentScenario(
        "a pricier model, the same tokens",
        "agent-cost",
        AgentTraffic(20, model="big"),
        AgentTraffic(60),
        "fail",
        "cost_per_request",
        ("cost_per_request",),
    ),
    AgentScenario(
        "tool failures 3x",
        "agent-tools",
        AgentTraffic(20, tool_failure_rate=0.06),
        AgentTraffic(60),
        "fail",
        "tool_failure_share",
        ("tool_failure_share",),
    ),
    AgentScenario(
        "LLM 5xx 3x",
        "agent-llm",
        AgentTraffic(20, llm_5xx_rate=0.03),
        AgentTraffic(60),
        "fail",
        "llm_5xx_share",
        ("llm_5xx_share",),
    ),
    AgentScenario(
        "canary without token series",
        "agent-no-tokens",
        AgentTraffic(20, missing=frozenset({LLM_TOKENS.name})),
        AgentTraffic(60),
        "error",
        f"canary: no series for sum(increase({LLM_TOKENS.name}",
    ),
    AgentScenario(
        "stable without tool-call series",
        "agent-no-tools",
        AgentTraffic(20),
        AgentTraffic(60, missing=frozenset({TOOL_CALLS.name, TOOL_FAILURES.name})),
        "error",
        f"stable: no series for sum(increase({TOOL_CALLS.name}",
    ),
    AgentScenario(
        "canary without tool-failure series",
        "agent-no-tool-failures",
        AgentTraffic(20, missing=frozenset({TOOL_FAILURES.name})),
        AgentTraffic(60),
        "error",
        f"canary: no series for sum(increase({TOOL_FAILURES.name}",
    ),
    AgentScenario(
        "canary without LLM-response series",
        "agent-no-llm",
        AgentTraffic(20, missing=frozenset({LLM_RESPONSES.name})),
        AgentTraffic(60),
        "error",
        f"canary: no series for sum(increase({LLM_RESPONSES.name}",
    ),
    AgentScenario(
        "a model without a price",
        "agent-unpriced",
        AgentTraffic(20, model="unlisted"),
        AgentTraffic(60),
        "error",
        "tokens of models without a price",
    ),
]


def agent_lines(agent_id: str, version: str, traffic: AgentTraffic) -> dict[str, list[str]]:
    """Sample lines per metric family for one track, cumulative counters per scrape."""
    rng = random.Random(f"{agent_id}/{version}/agent")
    totals: dict[str, float] = {}
    lines: dict[str, list[str]] = {}
    provider = {"provider": "openai", "model": traffic.model}
    series = {
        (LLM_TOKENS.name, "input"): _labels(agent_id, version, **provider, token_type="input"),
        (LLM_TOKENS.name, "output"): _labels(agent_id, version, **provider, token_type="output"),
        (TOOL_CALLS.name, ""): _labels(agent_id, version, tool="search"),
        (TOOL_FAILURES.name, ""): _labels(agent_id, version, tool="search"),
        (LLM_RESPONSES.name, "200"): _labels(agent_id, version, **provider, code="200"),
        (LLM_RESPONSES.name, "503"): _labels(agent_id, version, **provider, code="503"),
    }
    for ts, _since in _times():
        requests = traffic.rps * STEP_SECONDS
        noise = rng.lognormvariate(-(traffic.token_noise**2) / 2, traffic.token_noise)
        calls = requests * TOOL_CALLS_PER_REQUEST
        llm = requests * LLM_CALLS_PER_REQUEST
        llm_5xx = _binomial(rng, llm, traffic.llm_5xx_rate)
        step = {
            (LLM_TOKENS.name, "input"): requests * traffic.input_tokens * noise,
            (LLM_TOKENS.name, "output"): requests * traffic.output_tokens * noise,
            (TOOL_CALLS.name, ""): calls,
            (TOOL_FAILURES.name, ""): _binomial(rng, calls, traffic.tool_failure_rate),
            (LLM_RESPONSES.name, "200"): llm - llm_5xx,
            (LLM_RESPONSES.name, "503"): llm_5xx,
        }
        for key, amount in step.items():
            totals[key] = totals.get(key, 0.0) + amount
            if key[0] not in traffic.missing:
                lines.setdefault(key[0], []).append(f"{key[0]}{series[key]} {math.floor(totals[key])} {ts}")
    # One series after another, as the SLO families are written.
    return {name: sorted(found, key=lambda line: line.split(" ")[0]) for name, found in lines.items()}


def _binomial(rng: random.Random, n: float, p: float) -> float:
    """Normal approximation of a binomial draw (n is in the hundreds per scrape), never below zero."""
    return max(0.0, rng.gauss(n * p, math.sqrt(n * p * (1 - p))))


def openmetrics(scenarios: list[AgentScenario]) -> str:
    families: dict[str, list[str]] = {om.REQUESTS_FAMILY: [], om.DURATION_FAMILY: []}
    for scenario in scenarios:
        for version, traffic in ((CANARY, scenario.canary), (STABLE, scenario.stable)):
            counters, histogram = track_lines(scenario.agent_id, version, Traffic(traffic.rps))
            families[om.REQUESTS_FAMILY] += counters
            families[om.DURATION_FAMILY] += histogram
            for name, found in agent_lines(scenario.agent_id, version, traffic).items():
                families.setdefault(name.removesuffix("_total"), []).extend(found)
    return om.document(
        (family, "histogram" if family == om.DURATION_FAMILY else "counter", found)
        for family, found in families.items()
    )
