"""A small HTTP file server on 127.0.0.1 for download tests (a thread with ``http.server``).

Paths:

- ``/files/<name>``: the bytes registered under ``name`` (``server.files``), with a length;
- ``/stream/<name>``: the same bytes, chunked, with no length;
- ``/slow``: answers only after ``server.delay`` seconds;
- ``/trickle``: sends a byte every ``server.delay`` seconds, ten times;
- ``/redirect?to=<url>``: a 302 to ``url``; ``/loop``: a redirect to itself;
- ``/wait/<name>``: ``/files/<name>`` after ``server.delay`` seconds, counting the requests served
  at once (``server.most_at_once``);
- anything else: 404.

Every request's ``Host`` header is kept in ``server.hosts``.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FileServer(ThreadingHTTPServer):
    """The server; ``url(path)`` is the address of one of its paths."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.hosts: list[str] = []
        self.delay = 1.0
        self.lock = threading.Lock()
        self.at_once = 0
        self.most_at_once = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> FileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class Handler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self.server.hosts.append(self.headers.get("Host", ""))
        parts = urlsplit(self.path)
        path = parts.path
        if path.startswith("/files/"):
            self.send_file(path.removeprefix("/files/"))
        elif path.startswith("/stream/"):
            self.send_stream(path.removeprefix("/stream/"))
        elif path.startswith("/wait/"):
            self.send_after_wait(path.removeprefix("/wait/"))
        elif path == "/slow":
            time.sleep(self.server.delay)
            self.send_file("")
        elif path == "/trickle":
            self.send_trickle()
        elif path == "/redirect":
            self.redirect(parse_qs(parts.query)["to"][0])
        elif path == "/loop":
            self.redirect("/loop")
        else:
            self.send_error(404)

    def send_file(self, name: str) -> None:
        body = self.server.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_stream(self, name: str) -> None:
        body = self.server.files[name]
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(body), 1024):
            chunk = body[start : start + 1024]
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def send_trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        try:
            for _ in range(10):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(self.server.delay)
        except OSError:  # the client gave up: what the test wants
            return

    def send_after_wait(self, name: str) -> None:
        server = self.server
        with server.lock:
            server.at_once += 1
            server.most_at_once = max(server.most_at_once, server.at_once)
        try:
            time.sleep(server.delay)
        finally:
            with server.lock:
                server.at_once -= 1
        self.send_file(name)

    def redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
