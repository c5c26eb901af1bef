"""A real HTTP receiver for the webhook tests: records each delivery, checks its signatures with
`standardwebhooks`, and answers as the test says."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


# (the request) -> (status, extra headers)
Answer = Callable[[Received], tuple[int, dict[str, str]]]


@dataclass
class Receiver:
    """Keeps every request; `answer` decides the response (default 200)."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answer: Answer = lambda r: (200, {})
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verified_by(self, secret: str, received: Received, strict_time: bool) -> bool:
        """Whether a signature of `received` is by `secret`: `Webhook.verify` itself (which also wants
        a timestamp within 5 minutes of the real time), or the same signature check alone (for tests
        whose clock is moved by hand)."""
        hook = StandardWebhook(secret)
        if strict_time:
            try:
                hook.verify(received.body, received.headers)
            except WebhookVerificationError:
                return False
            return True
        at = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
        expected = hook.sign(received.message_id, at, received.body)
        return expected in received.headers["webhook-signature"].split(" ")

    def unique(self) -> list[Received]:
        """The deliveries a receiver that deduplicates by webhook-id acts on, in arrival order."""
        seen: set[str] = set()
        kept = []
        for r in self.received:
            if r.message_id not in seen:
                seen.add(r.message_id)
                kept.append(r)
        return kept

    def of_org(self, org_id: str) -> list[Received]:
        """The feed events delivered for one org (the PostgreSQL database is shared by the run's tests)."""
        return [
            r for r in self.received if r.event.get("orgId") == org_id and r.event["type"] != "webhook.ping"
        ]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            got = Received({k.lower(): v for k, v in self.headers.items()}, body)
            with state.lock:
                state.received.append(got)
            status, headers = state.answer(got)
            payload = b'{"ok": true}' if status < 300 else b"x" * 5000
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
