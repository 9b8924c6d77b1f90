"""The admin's import page (issue 19): the form, the run through a Celery task
with its progress and report, and the token kept out of the database, the logs
and the task's message (sealed there, never in clear)."""

from __future__ import annotations

import datetime as dt
import io
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alerts import queue
from alerts.importers.run import STAGE_APPLY, STAGE_DONE, STAGE_READ, import_run
from alerts.importers.runs import import_run_execute, import_runs_expire
from alerts.importers.token_seal import TOKEN_TTL, token_open, token_seal
from alerts.models import ImportRun
from scheduling.models import Team
from tests.alerts.importers.pagerduty_org import organisation

pytestmark = pytest.mark.django_db

ADD = "/admin/alerts/importrun/add/"
# A token no other string in the test could contain by chance.
TOKEN = f"pd-{secrets.token_hex(16)}"


@pytest.fixture
def fake():
    fake = organisation(timezone.now())
    fake.token = TOKEN
    server, url = fake.serve()
    fake.url = url
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("ops", password="x")
    client.force_login(user)
    return client


@pytest.fixture
def published(monkeypatch):
    """The messages this process sends to the broker: (task name, args)."""
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        "alerts.queue.current_app.send_task",
        lambda name, args=(), **options: sent.append((name, tuple(args))),
    )
    return sent


def start(client, **fields):
    body = {"source": "pagerduty", "url": "", "token": TOKEN, "team": "", **fields}
    return client.post(ADD, {k: v for k, v in body.items() if v is not None})


def everything_stored() -> str:
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    return out.getvalue()


def test_the_form_refuses_bad_input_with_clear_errors(admin_client, published):
    for fields, message in (
        ({"token": ""}, "This field is required."),
        ({"token": f"{TOKEN} {TOKEN}"}, "A token has no spaces"),
        ({"url": "ftp://example.com/api"}, "Use an http:// or https:// URL."),
        ({"url": "not a url"}, "Enter a valid URL."),
        ({"source": "splunk"}, "Select a valid choice."),
    ):
        answer = start(admin_client, **fields)
        assert answer.status_code == 200, fields
        assert message in answer.content.decode(), fields
        # The token typed is never rendered back into the page.
        assert TOKEN not in answer.content.decode(), fields
    assert not ImportRun.objects.exists()
    assert published == []


def test_an_empty_url_means_the_sources_public_api(
    admin_client, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = start(admin_client, team="Payments", dry_run="on")
    run = ImportRun.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("admin:alerts_importrun_change", args=[run.pk])
    assert (run.url, run.team, run.dry_run, run.status) == (
        "https://api.pagerduty.com",
        "Payments",
        True,
        "queued",
    )
    assert run.started_by.username == "ops"
    assert [name for name, _ in published] == [queue.IMPORT_RUN]


def test_the_token_travels_sealed_and_is_stored_nowhere(
    admin_client, published, fake, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level("DEBUG")
    with django_capture_on_commit_callbacks(execute=True):
        start(admin_client, url=fake.url)
    [(name, args)] = published
    run = ImportRun.objects.get()
    # The message: the run's id and the sealed token, never the token itself.
    assert name == queue.IMPORT_RUN and args[0] == run.pk
    assert TOKEN not in repr(args)
    assert token_open(args[1]) == TOKEN

    assert import_run_execute(run_id=run.pk, sealed_token=args[1]) == "succeeded"

    run.refresh_from_db()
    assert "faithfulness payments: 1344/1344 hours agree" in run.report
    assert TOKEN not in everything_stored()
    assert TOKEN not in caplog.text
    # A new integration's token is not stored in the report either.
    assert "its token, shown this once" not in run.report
    assert "a token was made and not kept" in run.report


def test_the_stages_are_reported_in_order(fake, waits):
    seen: list[tuple[str, int, int]] = []
    report = import_run(
        source="pagerduty",
        url=fake.url,
        token=TOKEN,
        progress=lambda *stage: seen.append(stage),
    )
    assert seen == [(STAGE_READ, 0, 2), (STAGE_APPLY, 1, 2), (STAGE_DONE, 2, 2)]
    assert {c.agree for c in report.checks} == {1344}


def test_a_run_is_run_once_even_if_its_message_comes_twice(fake, waits):
    run = ImportRun.objects.create(source="pagerduty", url=fake.url, total=2)
    sealed = token_seal(TOKEN)
    assert import_run_execute(run_id=run.pk, sealed_token=sealed) == "succeeded"
    assert (
        import_run_execute(run_id=run.pk, sealed_token=sealed) == "skipped: not queued"
    )
    run.refresh_from_db()
    assert (run.status, run.done, run.total, run.percent) == ("succeeded", 2, 2, 100)
    assert Team.objects.filter(slug="payments").exists()


def test_a_bad_token_fails_the_run_with_the_sources_answer_and_writes_nothing(
    fake, waits
):
    run = ImportRun.objects.create(source="pagerduty", url=fake.url, total=2)
    result = import_run_execute(run_id=run.pk, sealed_token=token_seal("wrong-token"))
    run.refresh_from_db()
    assert (result, run.status) == ("failed", "failed")
    assert "401" in run.error and "nothing was written" in run.error
    assert not Team.objects.exists()


def test_a_stale_or_altered_seal_is_refused(monkeypatch):
    run = ImportRun.objects.create(source="pagerduty", url="https://example.com")
    sealed = token_seal(TOKEN)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    assert import_run_execute(run_id=run.pk, sealed_token=tampered) == "failed"
    run.refresh_from_db()
    assert "start the import again" in run.error
    # Past its TTL a seal opens to nothing, however intact.
    with pytest.raises(Exception, match="start the import again"):
        token_open(sealed, ttl=dt.timedelta(seconds=-1))


def test_a_run_no_worker_started_in_time_is_failed_with_the_reason():
    run = ImportRun.objects.create(
        source="pagerduty",
        url="https://api.pagerduty.com",
        created_at=timezone.now() - TOKEN_TTL - dt.timedelta(minutes=1),
    )
    fresh = ImportRun.objects.create(source="pagerduty", url="https://x.example")
    assert import_runs_expire() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "no worker started the import" in run.error
    fresh.refresh_from_db()
    assert fresh.status == "queued"


def test_the_run_page_shows_progress_then_the_report(admin_client):
    run = ImportRun.objects.create(
        source="pagerduty",
        url="https://api.pagerduty.com",
        status="running",
        stage=STAGE_APPLY,
        done=1,
        total=2,
    )
    url = reverse("admin:alerts_importrun_change", args=[run.pk])
    page = admin_client.get(url).content.decode()
    assert '<progress id="import-progress" value="1" max="2">50 %</progress>' in page
    assert STAGE_APPLY in page
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    status = admin_client.get(
        reverse("admin:alerts_importrun_status", args=[run.pk])
    ).json()
    assert status == {
        "status": "running",
        "stage": STAGE_APPLY,
        "done": 1,
        "total": 2,
        "percent": 50,
        "finished": False,
    }

    ImportRun.objects.filter(pk=run.pk).update(
        status="succeeded",
        done=2,
        report="faithfulness payments: 1344/1344 hours agree",
        finished_at=timezone.now(),
    )
    page = admin_client.get(url).content.decode()
    assert "faithfulness payments: 1344/1344 hours agree" in page
    assert "http-equiv" not in page
    # The admin index links to the runs, and the runs to the form.
    assert "/admin/alerts/importrun/" in admin_client.get("/admin/").content.decode()


def test_only_staff_with_the_permission_reach_the_page(client, published):
    run = ImportRun.objects.create(source="pagerduty", url="https://x.example")
    pages = (
        ADD,
        reverse("admin:alerts_importrun_change", args=[run.pk]),
        reverse("admin:alerts_importrun_status", args=[run.pk]),
    )
    user = get_user_model().objects.create_user("bob", password="x")
    client.force_login(user)
    for page in pages:
        answer = client.get(page)
        assert answer.status_code == 302 and "/login/" in answer["Location"], page
    assert start(client).status_code == 302
    user.is_staff = True
    user.save()
    for page in pages:
        assert client.get(page).status_code == 403, page
    assert start(client).status_code == 403
    assert ImportRun.objects.count() == 1 and published == []
    user.user_permissions.add(
        Permission.objects.get(codename="view_importrun"),
        Permission.objects.get(codename="add_importrun"),
    )
    for page in pages:
        assert client.get(page).status_code == 200, page
