"""After ``manage.py oncall_demo`` the demo organisation has a handoff note for the
last shift change (each role) and a postmortem draft of a demo incident; running
it again adds nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone

from alerts.demo.history import DEMO_HISTORY_INTEGRATION
from alerts.models import HandoffNote, Incident, Postmortem
from alerts.postmortems.markdown import postmortem_markdown
from scheduling.models import Shift

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def debug_on(settings):
    settings.DEBUG = True  # the demo only runs with it on


def test_the_demo_has_the_last_shift_changes_note_and_a_postmortem_draft():
    call_command("oncall_demo")
    now = timezone.now()
    last_change = (
        Shift.objects.filter(rotation__team__slug="payments", starts_at__lte=now)
        .order_by("-starts_at")
        .first()
        .starts_at
    )
    notes = list(HandoffNote.objects.order_by("role"))
    assert [(n.role, n.boundary) for n in notes] == [
        ("primary", last_change),
        ("secondary", last_change),
    ]
    assert all(n.status == "draft" for n in notes)

    postmortem = Postmortem.objects.get()
    assert postmortem.incident.status == Incident.Status.RESOLVED
    times = [e["at"] for e in postmortem.timeline]
    assert times == sorted(times)
    kinds = [e["kind"] for e in postmortem.timeline]
    assert kinds[0] == "opened" and kinds[-1] == "resolved"
    assert "acknowledged" in kinds
    text = postmortem_markdown(postmortem)
    assert "02:13:00 EAT" in text  # opened at 02:13 in Nairobi
    assert "Duration: 0h 47m" in text

    call_command("oncall_demo")
    assert HandoffNote.objects.count() == 2
    assert Postmortem.objects.count() == 1
    # Besides the generated history (tests/alerts/test_demo_history.py).
    own = Incident.objects.exclude(integration__name=DEMO_HISTORY_INTEGRATION)
    assert own.count() == 1


def test_the_demo_notes_text_nobody(published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("oncall_demo")
    assert [p for p in published if "handoff" in p.name] == []
    assert all(n.outgoing_notified_at is not None for n in HandoffNote.objects.all())
