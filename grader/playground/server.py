"""`python -m grader play BOT.py`: a local page to chat with the bot and watch it pick letters.

A standard-library HTTP server on 127.0.0.1 only, and only under a random token of this run
in the printed address (http://127.0.0.1:PORT/TOKEN/, compared in constant time): another user
of the machine can reach the port, not the address. It serves the page (grader/playground/page.py:
static HTML, CSS and script, nothing remote) and two JSON calls: POST /ask answers a
request through the playground Session (the hooks in the grading sandbox, reloaded when the
bot file changes) and POST /forward draws one step of the forward pass. Every string the
submission controls is cleaned here and only ever set as text by the page; the page's
Content-Security-Policy allows no inline script and no other origin. The server answers
each HTTP request on its own thread, so a hook that hangs (and times out as in grading)
never stops it from serving the page.
"""
from __future__ import annotations

import hmac
import json
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from model.protocol import DEFAULT_TEMPERATURE

from ..errors import UsageError
from ..grading.explain import decision
from ..grading.trace import SampleTrace, Trace
from .session import Refused, Session, forward_step
from .page import CSS, HTML, SCRIPT
from ..safeio import clean_text

HOST = "127.0.0.1"
MAX_BODY_BYTES = 16 * 1024
MAX_NAMES_SENT = 40  # sampled names sent per answer (up to 1000 are possible); the rest are counted
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
STATIC = {"/": (HTML, "text/html"), "/play.css": (CSS, "text/css"), "/play.js": (SCRIPT, "text/javascript")}


def names_json(sample: SampleTrace) -> list[dict]:
    return [{"prefix": n.prefix, "name": clean_text(n.name), "probability": n.probability,
             "discarded_by": n.discarded_by, "banned": n.banned,
             "steps": [{"context": s.context, "token": s.token, "probability": s.probability,
                        "distribution": sorted([(s.token, s.probability), *s.alternatives],
                                               key=lambda tp: -tp[1])} for s in n.steps]}
            for n in sample.names[:MAX_NAMES_SENT]]


def trace_json(trace: Trace) -> dict:
    """What the page shows of one answer: plain values, every submission string cleaned."""
    sample = trace.shown[0]
    return {"request": clean_text(trace.request, 1000), "answer": sample.response, "outcome": sample.outcome,
            "refused_by": sample.refused_by, "decided_by": decision(sample),
            "prefixes": [[clean_text(r), n] for r, n in zip(trace.raw_prefixes, trace.normalized)],
            "names": names_json(sample), "names_total": len(sample.names),
            "leak": trace.leak_probability, "leak_note": trace.leak_note,
            "notes": [clean_text(n, 1000) for n in trace.notes], "temperature": trace.temperature}


class Handler(BaseHTTPRequestHandler):
    server: "PlayServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # one line per request would drown the URL
        pass

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")  # the address holds the token
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: dict, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _local(self) -> bool:
        """Only pages of this server may call it (another site's page, even one whose name
        resolves to 127.0.0.1, sends its own Host)."""
        port = self.server.server_address[1]
        return self.headers.get("Host") in {f"{HOST}:{port}", f"localhost:{port}"}

    def _route(self) -> str | None:
        """The path below the token, or None when the request does not hold this run's token."""
        token, slash, rest = self.path.removeprefix("/").partition("/")
        if not slash or not hmac.compare_digest(token.encode(), self.server.token.encode()):
            return None
        return "/" + rest

    def do_GET(self) -> None:
        path = self._route()
        if not self._local() or path is None:
            return self._send(HTTPStatus.FORBIDDEN, b"open the address play printed", "text/plain")
        if path not in STATIC:
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
        text, kind = STATIC[path]
        self._send(HTTPStatus.OK, text.encode(), kind)

    def do_POST(self) -> None:
        calls: dict[str, Callable[[dict], dict]] = {"/ask": self.server.ask, "/forward": self.server.forward}
        length = int(self.headers.get("Content-Length") or 0) if \
            (self.headers.get("Content-Length") or "0").isdigit() else -1
        path = self._route()
        if not self._local() or path is None or self.headers.get("Content-Type") != "application/json":
            return self._json({"error": "only the playground page may call this"}, HTTPStatus.FORBIDDEN)
        if path not in calls or not 0 < length <= MAX_BODY_BYTES:
            return self._json({"error": "unknown call or bad size"}, HTTPStatus.BAD_REQUEST)
        try:
            body = json.loads(self.rfile.read(length))
            if not isinstance(body, dict):
                raise ValueError("not an object")
            self._json(calls[path](body))
        except (ValueError, UsageError) as exc:
            self._json({"error": clean_text(exc)}, HTTPStatus.BAD_REQUEST)


class PlayServer(ThreadingHTTPServer):
    daemon_threads = True  # Ctrl-C does not wait for a request still in the sandbox

    def __init__(self, session: Session, port: int):
        super().__init__((HOST, port), Handler)
        self.session = session
        self.token = secrets.token_urlsafe(32)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/{self.token}/"

    def ask(self, body: dict) -> dict:
        text = body.get("request")
        if not isinstance(text, str) or "\n" in text or "\r" in text:
            raise ValueError("request must be one line of text (the bot reads a line per request)")
        try:
            return trace_json(self.session.ask(text))
        except Refused as refusal:
            return {"request": clean_text(text, 1000), "refused": clean_text(refusal, 4000)}

    def forward(self, body: dict) -> dict:
        context = body.get("context")
        if not isinstance(context, str):
            raise ValueError("context must be a string")
        try:
            return forward_step(self.session.model, context, DEFAULT_TEMPERATURE)
        except ValueError:
            raise ValueError("context must be made of the letters a to z") from None


def serve(session: Session, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve until Ctrl-C (KeyboardInterrupt reaches the caller after the server closed)."""
    server = PlayServer(session, port)
    on_ready(server.url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
