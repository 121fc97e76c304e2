"""A local HTTP server with one canned behaviour, for faults a real Prometheus will not produce on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
    delay_seconds: float = 0.0
    require_token: str | None = None
    range_body: bytes | None = None  # the answer to range queries, if it differs from `body`
    trickle_seconds: float = 0.0  # > 0: the whole answer, status line first, one byte per this many seconds
    trickle_path: str = "/api/v1/query"  # the answers that trickle: paths starting with this
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def serve(behaviour: Behaviour) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            behaviour.requests.append(dict(self.headers))
            time.sleep(behaviour.delay_seconds)
            status, body = behaviour.status, behaviour.body
            if self.path.startswith("/api/v1/query_range") and behaviour.range_body is not None:
                body = behaviour.range_body
            if behaviour.require_token and self.headers.get("Authorization") != f"Bearer {behaviour.require_token}":
                status, body = 401, b"Unauthorized"
            if behaviour.trickle_seconds > 0 and self.path.startswith(behaviour.trickle_path):
                self._trickle(status, body)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _trickle(self, status: int, body: bytes) -> None:
            """Every byte arrives well within any read timeout, and the whole answer takes minutes."""
            head = f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            try:
                for byte in head.encode() + body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(behaviour.trickle_seconds)
            except OSError:
                pass  # the client hung up: what a deadline should do

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
