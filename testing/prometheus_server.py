"""A real Prometheus serving TSDB blocks that promtool builds from OpenMetrics text, for the gate tests and
the gate benchmarks; and the Debian package's binaries (`prometheus`, `promtool`), found once.

A missing binary raises: a gate test that silently skips would prove nothing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

READY_SECONDS = 30


class MissingBinaryError(RuntimeError):
    """A binary the tests need is not installed: they fail, since a gate test that skips proves nothing."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        hint = "install the Debian package `prometheus` (see README: tests)"
        raise MissingBinaryError(f"`{name}` is not installed; {hint}")
    return path


class PrometheusServer:
    """`samples` (OpenMetrics, `testing.openmetrics`) as TSDB blocks that `start` serves on a free port."""

    def __init__(self, workdir: Path, samples: str, basic_auth: tuple[str, str] | None = None):
        """`basic_auth`: (user, password) every request must send, set through Prometheus' web configuration
        file (`basic_auth_users` holds bcrypt hashes: prometheus.io/docs/prometheus/latest/configuration/https/)."""
        self.workdir = workdir
        self.auth = basic_auth
        self.data = workdir / "data"
        source = workdir / "scenarios.om"
        source.write_text(samples)
        subprocess.run(
            [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
            check=True,
            capture_output=True,
        )
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
        self.config = config
        self.web_config: Path | None = None
        if basic_auth is not None:
            import bcrypt  # only these servers need it

            user, password = basic_auth
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            self.web_config = workdir / "web.yml"
            self.web_config.write_text(f"basic_auth_users:\n  {user}: '{hashed}'\n")
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.data}",
                # The blocks hold fixed past times; retention counts from the newest block, keep them all.
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
                *([f"--web.config.file={self.web_config}"] if self.web_config else []),
            ],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {(self.workdir / 'prometheus.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1, auth=self.auth).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus not ready after {READY_SECONDS}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
