"""The gate tests' Prometheus (`testing.prometheus_server`), serving the generated scenarios for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.prometheus_server import PrometheusServer
from tests.gates.scenarios import SCENARIOS, openmetrics


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"), openmetrics(SCENARIOS))
    server.start()
    yield server
    server.stop()
