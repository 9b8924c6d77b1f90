"""How fast the embedded default (``make run``) pages a burst of new alerts.

Runs the stack exactly as ``make run`` does (the demo organisation, then
``honcho -f Procfile.dev start``: runserver, one Celery worker and beat on SQLite and
the filesystem broker; console paging) on a throwaway data directory, posts 50
recorded Alertmanager webhooks (``a_single_firing``, each given its own group, alert
name and fingerprint, so 50 new incidents) and prints, per incident, how long after
it opened its first page went out (an SMS or call, or the storm bundle that carried
it): p50, p99, max.  Then it kills the worker (SIGKILL to its process group, as a
crash would; honcho stops the rest), starts the stack again and does the same with
50 more.

    .venv/bin/python bench/embedded_paging.py [--storm]   (make bench-embedded-paging)

Storm protection is off unless ``--storm`` (see ``main``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dev_stack import DevStack, manage  # noqa: E402

BURST = 50
TOKEN = "bench-embedded-" + os.urandom(8).hex()
FIXTURE = ROOT / "tests" / "fixtures" / "alertmanager" / "a_single_firing.json"
if not FIXTURE.exists():  # the recordings' shared home
    FIXTURE = Path("/work/shared/fixtures/alertmanager/a_single_firing.json")


def webhook(run: str, i: int) -> bytes:
    """The recorded webhook, as Alertmanager would send it for group ``i``."""
    body = copy.deepcopy(json.loads(FIXTURE.read_text()))
    name = f"BenchAlert{run}x{i}"
    alert = body["alerts"][0]
    alert["labels"]["alertname"] = name
    alert["startsAt"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    alert["fingerprint"] = hashlib.sha256(name.encode()).hexdigest()[:16]
    body["groupLabels"]["alertname"] = name
    body["commonLabels"]["alertname"] = name
    body["groupKey"] = f'{{}}:{{alertname="{name}", service="payments"}}'
    return json.dumps(body).encode()


def post_burst(stack: DevStack, run: str) -> None:
    url = f"{stack.url}/api/v1/alertmanager/{TOKEN}/"

    def post(i: int) -> int:
        request = urllib.request.Request(  # noqa: S310 (http on loopback)
            url,
            data=webhook(run, i),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(post, range(BURST)))
    assert all(s == 202 for s in statuses), statuses


def first_page_delays(run: str, timeout: float = 300) -> list[float]:
    """Seconds from each burst incident's opening to its first page going out."""
    from django.db import connection
    from django.db.models import Min

    from alerts.models import Incident, Page

    deadline = time.monotonic() + timeout
    while True:
        connection.close()  # a fresh read of what the stack wrote
        incidents = dict(
            Incident.objects.filter(title__contains=f"BenchAlert{run}x").values_list(
                "pk", "opened_at"
            )
        )
        firsts: dict[int, datetime] = {}
        for row in (
            Page.objects.filter(incident__in=incidents)
            .values("incident")
            .annotate(sms=Min("sent_at"), bundled=Min("bundle__sent_at"))
        ):
            sent = [t for t in (row["sms"], row["bundled"]) if t is not None]
            if sent:
                firsts[row["incident"]] = min(sent)
        if len(incidents) == BURST and len(firsts) == BURST:
            return sorted(
                (firsts[pk] - opened).total_seconds()
                for pk, opened in incidents.items()
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{len(incidents)} incidents, {len(firsts)} paged after {timeout}s"
            )
        time.sleep(0.5)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(what: str, delays: list[float]) -> None:
    print(
        f"{what}: first page after the incident opened "
        f"p50 {percentile(delays, 50):.2f} s, p99 {percentile(delays, 99):.2f} s, "
        f"max {delays[-1]:.2f} s (min {delays[0]:.2f} s)",
        flush=True,
    )


def main() -> None:
    if "--storm" not in sys.argv:
        # Storm protection deliberately holds a member's pages beyond 5 in 10
        # minutes for a bundle (at most one per 2 minutes): 100 incidents paging one
        # person would measure that hold, not how fast the stack carries a page.
        os.environ["STORM_MAX_PAGES"] = "0"
    print(f"STORM_MAX_PAGES={os.environ.get('STORM_MAX_PAGES', 'default')}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="oncall-embedded-") as tmp:
        data_dir = Path(tmp)
        os.environ.update(
            ONCALL_DATA_DIR=str(data_dir), DEBUG="1", ONCALL_DEMO_TOKEN=TOKEN
        )
        manage(data_dir, "migrate", "-v0")
        manage(data_dir, "oncall_demo")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
        import django

        django.setup()

        stack = DevStack(data_dir)
        stack.start()
        try:
            stack.wait_ready()
            post_burst(stack, "a")
            report(f"{BURST} new alerts", first_page_delays("a"))

            worker = stack.process_pids("worker.1")
            os.killpg(worker, signal.SIGKILL)
            stack.proc.wait(timeout=60)
            restarted = time.monotonic()
            stack = DevStack(data_dir)
            stack.start()
            stack.wait_ready()
            print(f"restarted: ready {time.monotonic() - restarted:.1f} s after")
            post_burst(stack, "b")
            report(f"{BURST} new alerts after a restart", first_page_delays("b"))
        finally:
            stack.kill()


if __name__ == "__main__":
    main()
