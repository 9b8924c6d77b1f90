"""granian as the web server (oncall/granian_server.py), run as docker-compose runs
it: settings from the environment, keep-alive, a dead worker replaced and its live
gauges dropped, requests in flight finished on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict

from tests.processes import REPO, django_env, free_port, port_open, wait_until

# The shape of ``oncall.granian_server.server_options`` for the environment given.
OPTIONS = """
import json, sys
from oncall import granian_server as g
o = g.server_options()
print(json.dumps({
    "address": o["address"], "port": o["port"], "workers": o["workers"],
    "threads": o["blocking_threads"],
    "keepalive_ms": o["http1_settings"].header_read_timeout,
    "kill_timeout": o["workers_kill_timeout"], "respawn": o["respawn_failed_workers"],
    "access_log": o["log_access"],
}))
"""


def options(**variables: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "GUN"))}
    run = subprocess.run(
        [sys.executable, "-c", OPTIONS],
        cwd=REPO,
        env=env | variables,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def test_its_defaults_are_the_compose_shape():
    assert options() == {
        "address": "0.0.0.0",  # noqa: S104 - the container's interfaces
        "port": 8000,
        "workers": 2,
        "threads": 4,
        # Longer than Go's 90 s idle timeout (Alertmanager, Prometheus).
        "keepalive_ms": 95_000,
        "kill_timeout": 30,
        "respawn": True,
        "access_log": True,
    }


def test_web_variables_win_and_the_gunicorn_names_still_count():
    assert (
        options(GUNICORN_WORKERS="3", GUNICORN_KEEPALIVE_SECONDS="120")["workers"] == 3
    )
    chosen = options(
        WEB_BIND="127.0.0.1:9001",
        WEB_WORKERS="5",
        GUNICORN_WORKERS="3",
        WEB_THREADS="8",
        WEB_KEEPALIVE_SECONDS="65",
        WEB_TIMEOUT_SECONDS="10",
    )
    assert chosen["address"] == "127.0.0.1" and chosen["port"] == 9001
    assert (chosen["workers"], chosen["threads"]) == (5, 8)
    assert (chosen["keepalive_ms"], chosen["kill_timeout"]) == (65_000, 10)


class Granian:
    def __init__(self, tmp_path: Path, **variables: str) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "granian.log"
        self.metrics_dir = tmp_path / "prometheus"
        self.metrics_dir.mkdir()
        env = django_env(
            DEBUG="1",
            ONCALL_DATA_DIR=str(tmp_path),
            WEB_BIND=f"127.0.0.1:{self.port}",
            WEB_WORKERS="1",
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir),
            **variables,
        )
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oncall.granian_server"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Its own process group: the teardown can end the workers too, which
            # outlive a main process that is killed.
            start_new_session=True,
        )
        wait_until(lambda: port_open(self.port), 60, "granian to listen")
        wait_until(lambda: self.get("/healthz").startswith(b"HTTP/1.1 200"), 60, "")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def get(self, path: str, sock: socket.socket | None = None) -> bytes:
        own = sock is None
        try:
            sock = sock or self.connect()
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            return read_response(sock)
        except OSError:
            return b""
        finally:
            if own and sock is not None:
                sock.close()

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code

    def end(self) -> None:
        """Whatever the test left running: a shutdown as compose does it (SIGTERM),
        then SIGKILL to the whole group, so no worker is left behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        if not self.log.closed:
            self.log.close()


def read_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def granian(tmp_path) -> Iterator[Granian]:
    server = Granian(tmp_path)
    try:
        yield server
    finally:
        server.end()


def test_a_connection_serves_request_after_request(granian):
    with granian.connect() as sock:
        first = granian.get("/healthz", sock)
        second = granian.get("/healthz", sock)
    assert first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")
    assert b"connection: close" not in (first + second).lower()


def test_an_idle_connection_is_closed_after_the_keepalive_setting(tmp_path):
    server = Granian(tmp_path, WEB_KEEPALIVE_SECONDS="1")
    try:
        with server.connect() as sock:
            assert server.get("/healthz", sock).startswith(b"HTTP/1.1 200")
            assert sock.recv(1) == b""  # the server closed it: idle past 1 s
    finally:
        server.end()


def test_a_dead_worker_is_replaced_and_its_live_gauges_dropped(granian):
    [worker] = granian.workers()
    # The live gauge the dead worker leaves behind, as prometheus_client writes it.
    gauge = granian.metrics_dir / f"gauge_livesum_{worker}.db"
    values = MmapedDict(str(gauge))
    values.write_value('["busy", "busy", [], [], null]', 1.0, 0.0)
    values.close()

    os.kill(worker, signal.SIGKILL)
    wait_until(
        lambda: granian.workers() not in ([], [worker]), 60, "a new granian worker"
    )
    wait_until(lambda: granian.get("/healthz").startswith(b"HTTP/1.1 200"), 60, "")
    # The new worker loaded the application, which dropped the dead one's file.
    assert not gauge.exists()
    assert "Unexpected exit from worker-1" in granian.output()


def test_on_sigterm_a_request_in_flight_is_answered_before_it_exits(granian):
    """The client is still sending the body when SIGTERM arrives."""
    body = b"username=alice&password=wrong"
    with granian.connect() as sock:
        sock.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            # A well-formed CSRF cookie: Django reads the body for the form's token
            # before it refuses the request (no token in this form).
            b"Cookie: csrftoken=" + b"a" * 32 + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:5]
        )
        # Nothing else in flight: the fixture's last /healthz has been logged.
        wait_until(lambda: "/healthz" in granian.output(), 30, "the access log")
        granian.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "Shutting down" in granian.output(), 30, "the shutdown")
        sock.sendall(body[5:])
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 403")  # the view's answer, not a reset
    assert granian.stop() == 0
    output = granian.output()
    # Django refused the form after the shutdown began: it had read the body.
    assert output.index("Shutting down") < output.index("Forbidden (CSRF token")


def test_an_oversized_body_is_refused_before_it_arrives(granian):
    """granian hands the body to Django as it comes: Django's size limit answers
    while most of a 50 MB body is still unsent."""
    declared = 50 * 1024 * 1024
    with granian.connect() as sock:
        sock.sendall(
            b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Cookie: csrftoken=" + b"a" * 32 + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % declared + b"a=" + b"x" * 65536
        )
        answer = read_response(sock)
    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500


def test_requests_do_not_carry_the_process_environment(monkeypatch):
    """granian copies os.environ into every request's environ: the served
    application removes it (oncall/granian_app.py), headers and the server's
    own keys kept."""
    from granian import wsgi as granian_wsgi

    from oncall import granian_app, granian_server

    assert granian_server.TARGET == "oncall.granian_app:application"
    assert "SECRET_KEY" in granian_app.INHERITED or "SECRET_KEY" not in os.environ
    seen: dict = {}

    def inner(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [])
        return [b""]

    app = granian_app.without_process_environment(inner)
    keys = granian_app.inherited_keys(
        ["ONCALL_TEST_SECRET", "PATH_INFO", "HTTP_AUTHORIZATION", "REQUEST_METHOD"]
    )
    assert keys == ("ONCALL_TEST_SECRET",)
    monkeypatch.setattr(granian_app, "INHERITED", keys)
    # The environ as granian builds it: the process environment, then the scope.
    environ = {
        "ONCALL_TEST_SECRET": "s3cret",
        "PATH_INFO": "/healthz",
        "REQUEST_METHOD": "GET",
        "HTTP_AUTHORIZATION": "Bearer x",
    }
    app(environ, lambda status, headers: None)
    assert "ONCALL_TEST_SECRET" not in seen
    assert (seen["PATH_INFO"], seen["REQUEST_METHOD"]) == ("/healthz", "GET")
    assert seen["HTTP_AUTHORIZATION"] == "Bearer x"
    # And granian still does copy it (else this module would be needless).
    import inspect

    assert "os.environ" in inspect.getsource(granian_wsgi._callback_wrapper)


def test_ending_the_server_leaves_no_worker_behind(tmp_path):
    """Killing only granian's main process orphans its workers, which keep
    serving; the harness ends the whole process group."""
    server = Granian(tmp_path)
    [worker] = server.workers()
    server.proc.kill()  # as a test that fails half-way leaves it: main gone
    server.proc.wait(timeout=30)
    assert Path(f"/proc/{worker}").exists()  # the orphan, still there
    server.end()
    wait_until(lambda: not Path(f"/proc/{worker}").exists(), 30, "the worker to go")
