"""A loopback HTTP server the test starts, serving out-of-office calendars.

Each path answers what the test put there: a body (with an ETag, answering 304
to a matching ``If-None-Match``), a redirect, a status, an endless body, or
silence (the request is held until the test ends, for timeouts).  Requests are
recorded with their headers, so a test can assert what the fetcher sent.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # accept, then never answer
    endless: bool = False  # stream chunks until the client goes away


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


class PtoServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet
                pass

            def do_GET(self):
                server.seen.append(Seen(self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                if route.hang:
                    server.release.wait()
                    return
                if route.endless:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/calendar")
                    self.end_headers()
                    chunk = b"BEGIN:VCALENDAR\r\n" * 4096
                    try:
                        while not server.release.is_set():
                            self.wfile.write(chunk)
                    except OSError:  # the client hung up: what we wanted
                        pass
                    return
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> PtoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def calendar(self, path: str, body: bytes) -> str:
        """Serve ``body`` at ``path`` as text/calendar with an ETag; its URL."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.routes[path] = Route(
            body=body, headers={"Content-Type": "text/calendar", "ETag": etag}
        )
        return self.url(path)
