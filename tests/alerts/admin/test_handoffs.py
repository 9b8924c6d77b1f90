"""Handoff notes in the admin: list, filters, text search, the rendered note."""

from __future__ import annotations

import pytest

from alerts.handoff.actions import handoff_edit
from alerts.handoff.draft import handoffs_draft_for
from alerts.models import HandoffNote
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(payments, make_rotation):
    team, people = payments
    make_rotation(team, people, now=utc(2026, 1, 1))
    notes = handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 13))
    return {n.role: n for n in notes}


def test_the_list_shows_notes_and_filters_by_status(admin_client, notes):
    page = admin_client.get("/admin/alerts/handoffnote/?status__exact=draft")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice" in text and "Charlie" in text and "Bob" in text
    none = admin_client.get("/admin/alerts/handoffnote/?status__exact=acknowledged")
    assert "0 handoff notes" in none.content.decode()


def test_notes_are_found_by_the_text_of_their_ongoing_issues_and_tips(
    admin_client, notes
):
    handoff_edit(
        note=notes["primary"],
        ongoing=[{"text": "ledger reconciliation lagging", "watch": True}],
        tips="rotate the Kafka consumer",
    )
    by_issue = admin_client.get("/admin/alerts/handoffnote/?q=reconciliation")
    assert "1 handoff note" in by_issue.content.decode()
    by_tip = admin_client.get("/admin/alerts/handoffnote/?q=kafka")
    assert "1 handoff note" in by_tip.content.decode()
    assert (
        "0 handoff notes"
        in admin_client.get(
            "/admin/alerts/handoffnote/?q=nothing-like-this"
        ).content.decode()
    )


def test_the_note_page_renders_its_markdown_with_html_escaped(admin_client, notes):
    note = handoff_edit(
        note=notes["primary"],
        ongoing=[],
        tips="**Restart** the worker <script>alert(1)</script>",
    )
    page = admin_client.get(f"/admin/alerts/handoffnote/{note.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>Restart</strong>" in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text


def test_the_action_submits_drafts_as_drafted(admin_client, notes):
    answer = admin_client.post(
        "/admin/alerts/handoffnote/",
        {
            "action": "submit_as_drafted",
            "_selected_action": [n.pk for n in notes.values()],
        },
    )
    assert answer.status_code == 302
    assert set(HandoffNote.objects.values_list("status", "auto_submitted")) == {
        ("submitted", True)
    }
