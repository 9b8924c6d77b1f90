"""Start real external processes for tests: redis-server, Celery workers, ...

Each helper binds to 127.0.0.1 on a free port, waits until the process answers,
and is torn down by the fixture that started it, even when the test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


class RedisServer:
    """A throwaway redis-server on a free loopback port.

    ``appendonly=True`` is the docker-compose configuration (an append-only file,
    fsynced every second); the tests run without persistence.
    """

    def __init__(self, workdir: Path, *, appendonly: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed; `make test` installs it "
                "(scripts/ensure-system-packages redis-server)"
            )
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), 10, "redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


# The web server's command lines: granian as docker-compose runs it, and
# gunicorn by oncall/gunicorn_conf.py, the documented alternative.
WEB_SERVER_COMMANDS = {
    "gunicorn": [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:oncall.gunicorn_conf",
        "oncall.wsgi:application",
    ],
    "granian": [sys.executable, "-m", "oncall.granian_server"],
}


def django_env(**extra: str) -> dict[str, str]:
    """The environment for a child process running this project's code."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class CeleryWorker:
    """A real ``celery -A oncall worker`` process."""

    def __init__(self, env: dict[str, str], logfile: Path, pool: str = "solo") -> None:
        self.env = env
        self.logfile = logfile
        self.pool = pool
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._log = open(self.logfile, "ab")  # closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oncall",
                "worker",
                f"--pool={self.pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-task, as in an OOM kill."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._log.close()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, timeout=20)
            self.proc = None
            self._log.close()


def _postgres_bindir() -> Path:
    """Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/N/bin."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if candidates:
        return candidates[0].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL is not installed; `make test` installs it "
        "(scripts/ensure-system-packages postgresql)"
    )


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free loopback port.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the
    ``postgres`` system user that Debian's package creates.
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.bindir = _postgres_bindir()
        # durable=True keeps PostgreSQL's stock settings (fsync and full-page
        # writes on), as docker-compose runs it; benchmarks of the production
        # shape use it.
        self.durable = durable
        # Its own directory under /tmp: pytest's tmp_path lives under a root-only
        # directory that the postgres user cannot enter.
        self.workdir = Path(tempfile.mkdtemp(prefix="oncall-pg-"))
        self.datadir = self.workdir / "data"
        self.port = free_port()
        self.user = "oncall"
        self.password = "oncall"

    def _run_as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str = "oncall") -> str:
        return (
            f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"
        )

    def start(self) -> None:
        prefix = self._run_as_owner()
        if prefix:
            shutil.chown(self.workdir, "postgres")
        if not self.datadir.exists():
            pwfile = self.workdir / "pw"
            pwfile.write_text(self.password)
            if prefix:
                shutil.chown(pwfile, "postgres")
            subprocess.run(
                [
                    *prefix,
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        # fsync off is safe in the tests: only the server process dies in our
        # crash tests, never the OS, so written WAL survives.  (synchronous_commit
        # stays on: turning it off would lose commits on a crash-stop.)
        durability = "" if self.durable else "-c fsync=off -c full_page_writes=off"
        self._ctl(
            "start",
            "-w",
            "-t",
            "30",
            "-l",
            str(self.workdir / "postgres.log"),
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 {durability} "
            f"-c unix_socket_directories='{self.workdir}' -c max_connections=200",
        )
        self._psql_create_db("oncall")

    def _psql_create_db(self, name: str) -> None:
        env = dict(os.environ, PGPASSWORD=self.password)
        exists = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        if exists.stdout.strip() != "1":
            subprocess.run(
                [
                    str(self.bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    name,
                ],
                env=env,
                check=True,
            )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [
                *self._run_as_owner(),
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                *args,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode="immediate"`` is a crash-like stop."""
        if (self.datadir / "postmaster.pid").exists():
            self._ctl("stop", "-w", "-m", mode)

    def destroy(self) -> None:
        self.stop(mode="immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_on_postgresql(module: str, tmp_path: Path, **env: str) -> object:
    """Run ``python -m module`` against a fresh PostgreSQL server and return the
    JSON of the last line it prints.

    For checks that run in-process on SQLite under pytest-django and, through this,
    as a script on PostgreSQL (the script migrates its database first).
    """
    postgres = PostgresServer()
    postgres.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            cwd=REPO,
            env=django_env(
                DATABASE_URL=postgres.url(),
                ONCALL_DATA_DIR=str(tmp_path / "data"),
                **env,
            ),
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        postgres.destroy()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


class AlertmanagerServer:
    """A real Prometheus Alertmanager (Debian package) with a given config.

    ``config`` is the alertmanager.yml text. Alerts are posted to its API v2 with
    :meth:`post_alerts`, exactly as Prometheus would.
    """

    def __init__(self, workdir: Path, config: str) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            raise RuntimeError(
                "prometheus-alertmanager is not installed; `make test` installs it"
            )
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import urllib.request

        self.workdir.mkdir(parents=True, exist_ok=True)
        config_file = self.workdir / "alertmanager.yml"
        config_file.write_text(self.config)
        self._log = open(self.workdir / "alertmanager.log", "ab")  # closed in stop()
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config_file}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--web.external-url={self.url}",
                "--cluster.listen-address=",
                "--log.level=debug",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, 30, "alertmanager to be ready")

    def post_alerts(self, alerts: list[dict]) -> None:
        import json
        import urllib.request

        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200, response.status

    def log(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
            self._log.close()


class PrometheusServer:
    """A real Prometheus (Debian package ``prometheus``) on a free loopback port,
    serving the samples backfilled into its TSDB before it starts.

    ``openmetrics`` is the OpenMetrics text of the history (counters with
    timestamps); ``promtool tsdb create-blocks-from openmetrics`` turns it into
    blocks, so a test queries a known past at a chosen ``time=`` instead of
    waiting for scrapes.
    """

    def __init__(self, workdir: Path, openmetrics: str) -> None:
        binary = shutil.which("prometheus")
        promtool = shutil.which("promtool")
        if binary is None or promtool is None:
            raise RuntimeError("prometheus is not installed; `make test` installs it")
        self.binary = binary
        self.promtool = promtool
        self.workdir = workdir
        self.openmetrics = openmetrics
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import urllib.request

        self.workdir.mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        if not data.exists():
            source = self.workdir / "history.om"
            source.write_text(self.openmetrics)
            subprocess.run(
                [
                    self.promtool,
                    "tsdb",
                    "create-blocks-from",
                    "openmetrics",
                    str(source),
                    str(data),
                ],
                check=True,
                capture_output=True,
            )
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
        self._log = open(self.workdir / "prometheus.log", "ab")  # closed in stop()
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until(ready, 30, "prometheus to be ready")

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None
            self._log.close()
