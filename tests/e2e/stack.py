"""The whole service, run as users run it, on 127.0.0.1, for end-to-end tests.

PostgreSQL (a throwaway cluster), Redis, ``manage.py migrate``, granian, a Celery
worker, Celery beat, and a fake Twilio the Twilio transport is pointed at.  Every
process is started with the production settings (``DEBUG=0``) and torn down by
:meth:`Stack.stop`, which the fixtures call even when a test fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio
from tests.processes import (
    REPO,
    CeleryWorker,
    PostgresServer,
    RedisServer,
    free_port,
    stop,
    wait_until,
)


@dataclass
class HttpResult:
    status: int
    body: bytes
    elapsed: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> HttpResult:
    request = urllib.request.Request(
        url, data=body, method=method, headers=headers or {}
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(
                response.status,
                response.read(),
                time.perf_counter() - started,
                dict(response.headers),
            )
    except urllib.error.HTTPError as error:
        return HttpResult(
            error.code, error.read(), time.perf_counter() - started, dict(error.headers)
        )


class Stack:
    def __init__(self, workdir: Path, *, extra_env: dict[str, str] | None = None):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.postgres = PostgresServer()
        self.redis = RedisServer(workdir / "redis")
        self.twilio = FakeTwilio(auto_deliver=True)
        self.web_port = free_port()
        self.demo_token = "e2e-demo-token-" + "t" * 32
        self.api_token = ""
        self.extra_env = {"ONCALL_DEMO_TOKEN": self.demo_token, **(extra_env or {})}
        self.web: subprocess.Popen | None = None
        self.beat: subprocess.Popen | None = None
        self.workers: list[CeleryWorker] = []
        self._logs: list = []
        self.last_unsettled = ""  # why settled() last said no

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in list(env):
            if name.startswith(("CELERY_", "TWILIO_", "ONCALL_")):
                del env[name]
        env.update(
            DJANGO_SETTINGS_MODULE="oncall.settings",
            PYTHONPATH=str(REPO),
            DEBUG="0",
            SECRET_KEY="e2e-" + "k" * 50,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            PUBLIC_BASE_URL=self.url,
            DATABASE_URL=self.postgres.url(),
            CELERY_BROKER_URL=f"{self.redis.url}/0",
            ONCALL_DATA_DIR=str(self.workdir / "data"),
            STATIC_ROOT=str(self.workdir / "static"),
            PAGING_TRANSPORT="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM_NUMBER=FROM_NUMBER,
            TWILIO_API_BASE_URL=self.twilio.url,
            TWILIO_TIMEOUT_SECONDS="3",
            LOG_FORMAT="text",
            # Seconds, not the production defaults, so scenarios finish quickly.
            ESCALATION_SWEEP_SECONDS="1",
            DELIVERY_SWEEP_SECONDS="2",
            ESCALATION_ENQUEUE_LEASE_SECONDS="5",
            PAGE_SEND_LEASE_SECONDS="6",
            PAGE_RETRY_BASE_SECONDS="1",
            PAGE_RETRY_MAX_SECONDS="2",
            STORM_BUNDLE_SECONDS="5",
            # The periodic handoff work off: its notes (auto-submitted, reminded)
            # would text the on-call people the paging scenarios count messages
            # of.  The handoff scenario drives its note itself.
            HANDOFF_LOOKBACK_HOURS="0",
        )
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def seed_demo(self) -> dict:
        """Load the demo organisation (token ``self.demo_token``); returns the
        team slug and an API token for the demo admin."""
        result = self.manage(
            "shell", "-c", "from tests.e2e.seed import seed_demo; seed_demo()"
        )
        seeded = json.loads(result.stdout.strip().splitlines()[-1])
        self.api_token = seeded["api_token"]
        return seeded

    def seed_policy(self, steps: list[tuple[str, str, float]], repeat: int = 0):
        code = (
            "from tests.e2e.seed import seed_policy; "
            f"seed_policy({steps!r}, repeat={repeat})"
        )
        self.manage("shell", "-c", code)

    def handoff_link(self) -> dict:
        """:func:`tests.e2e.seed.handoff_link`: a link to the demo's handoff note."""
        code = "from tests.e2e.seed import handoff_link; handoff_link()"
        result = self.manage("shell", "-c", code)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def sms_bundles(self, phone: str) -> dict:
        """What the database says of this member's bundle SMS
        (:func:`tests.e2e.seed.sms_bundles`): ``unsettled`` (queued or sending)
        and ``latest``, the one ACK ALL answers, with its ``incidents``."""
        code = f"from tests.e2e.seed import sms_bundles; sms_bundles({phone!r})"
        result = self.manage("shell", "-c", code)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def settled(self, **options) -> bool:
        """:func:`tests.e2e.seed.settled`, asked inside the stack."""
        code = f"from tests.e2e.seed import settled; settled(**{options!r})"
        result = self.manage("shell", "-c", code)
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        self.last_unsettled = answer["why"]
        return answer["settled"]

    def unprocessed_deliveries(self, containing: str) -> int:
        """Stored webhook deliveries holding ``containing`` not yet processed."""
        code = (
            "from tests.e2e.seed import unprocessed_deliveries; "
            f"unprocessed_deliveries({containing!r})"
        )
        result = self.manage("shell", "-c", code)
        return json.loads(result.stdout.strip().splitlines()[-1])["unprocessed"]

    def settle(self, what: str, timeout: float = 60, **options) -> None:
        """Wait (bounded) until :meth:`settled`: nothing more can be sent, by the
        database and the broker, not by the clock; ``what`` names the wait."""
        try:
            wait_for(lambda: self.settled(**options), timeout, what)
        except TimeoutError as error:
            raise TimeoutError(f"{error}: {self.last_unsettled}") from None

    def oncall(self) -> tuple[str, str]:
        """The phone numbers of the current primary and secondary."""
        now = self.api("GET", "/api/v1/teams/payments/oncall/").json()
        return now["primary"]["phone"], now["secondary"]["phone"]

    def resolve_all(self) -> None:
        """Resolve every open incident, so one scenario's escalations cannot page
        during the next."""
        for status in ("triggered", "acknowledged"):
            for incident in self.incidents(status=status):
                self.api("POST", f"/api/v1/incidents/{incident['id']}/resolve/")

    def api(self, method: str, path: str, body: dict | None = None) -> HttpResult:
        headers = {"Authorization": f"Bearer {self.api_token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return http(method, self.url + path, body=data, headers=headers)

    def incidents(self, **query: str) -> list[dict]:
        """Every incident matching ``query``, following the cursor pages."""
        from urllib.parse import urlencode, urlsplit

        found: list[dict] = []
        path: str | None = "/api/v1/incidents/?" + urlencode(
            {"page_size": "500", **query}
        )
        while path:
            result = self.api("GET", path)
            assert result.status == 200, result.body
            data = result.json()
            found += data["results"]
            nxt = urlsplit(data["next"]) if data["next"] else None
            path = nxt and f"{nxt.path}?{nxt.query}"
        return found

    def alertmanager_config(self, *, group_interval: str = "1s") -> str:
        """Alertmanager routing everything to our webhook with the demo token."""
        return f"""
route:
  receiver: oncall
  group_by: [alertname, service]
  group_wait: 500ms
  group_interval: {group_interval}
  repeat_interval: 1h
receivers:
- name: oncall
  webhook_configs:
  - url: '{self.url}/api/v1/alertmanager/'
    send_resolved: true
    http_config:
      authorization:
        type: Bearer
        credentials: '{self.demo_token}'
"""

    def _log(self, name: str):
        handle = open(self.workdir / f"{name}.log", "ab")  # closed in stop()
        self._logs.append(handle)
        return handle

    # --- lifecycle -------------------------------------------------------------
    def start(self, *, workers: int = 1, beat: bool = True) -> Stack:
        self.postgres.start()
        self.redis.start()
        self.twilio.start()
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        self.start_web()
        for _ in range(workers):
            self.start_worker()
        if beat:
            self.start_beat()
        return self

    def start_web(self) -> None:
        # As docker-compose runs it (granian, oncall/granian_server.py).
        self.web = subprocess.Popen(
            [sys.executable, "-m", "oncall.granian_server"],
            cwd=REPO,
            env=self.env()
            | {"WEB_BIND": f"127.0.0.1:{self.web_port}", "WEB_WORKERS": "2"},
            stdout=self._log("web"),
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            # A worker still booting can accept the connection and answer late:
            # a read timeout means "not yet", not a failure.
            try:
                return self._web_listening() and (
                    self.get("/healthz", timeout=1).status == 200
                )
            except OSError:
                return False

        wait_until(healthy, 60, "the web server to answer /healthz")

    def _web_listening(self) -> bool:
        from tests.processes import port_open

        return port_open(self.web_port)

    def start_worker(self, *, pool: str = "prefork") -> CeleryWorker:
        worker = CeleryWorker(
            self.env(), self.workdir / f"worker{len(self.workers)}.log", pool=pool
        )
        worker.start()
        self.workers.append(worker)
        return worker

    def start_beat(self) -> None:
        self.beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "oncall",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.workdir / 'celerybeat-schedule'}",
            ],
            cwd=REPO,
            env=self.env(),
            stdout=self._log("beat"),
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for proc in (self.beat, self.web):
            if proc is not None:
                stop(proc)
        self.twilio.stop()
        self.redis.stop()
        self.postgres.destroy()
        for handle in self._logs:
            handle.close()

    def logs(self) -> str:
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            parts.append(
                f"===== {path.name}\n{path.read_text(errors='replace')[-6000:]}"
            )
        return "\n".join(parts)

    # --- HTTP ------------------------------------------------------------------
    def get(self, path: str, **kwargs) -> HttpResult:
        return http("GET", self.url + path, **kwargs)

    def post(self, path: str, body: bytes, **kwargs) -> HttpResult:
        return http("POST", self.url + path, body=body, **kwargs)


def wait_for(predicate, timeout: float, what: str) -> None:
    wait_until(predicate, timeout, what, interval=0.2)
