"""``/api/v1/handoffs/``: the contract of DESIGN.md §5, and who may do what
beyond the access matrix (a teammate who is neither from nor to: 403)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from alerts import queue
from alerts.handoff.draft import handoffs_draft_for
from tests.api_client import bearer_client
from tests.cast import utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes(payments, make_rotation):
    team, people = payments
    make_rotation(team, people, now=utc(2026, 1, 1))
    first = handoffs_draft_for(team=team, start=utc(2026, 1, 12), end=utc(2026, 1, 13))
    second = handoffs_draft_for(team=team, start=utc(2026, 1, 19), end=utc(2026, 1, 20))
    return {(n.boundary.day, n.role): n for n in first + second}


def test_the_list_is_newest_first_with_the_contract_fields(notes, cast):
    body = bearer_client(cast["alice"].user).get("/api/v1/handoffs/?team=payments")
    assert body.status_code == 200
    rows = body.json()["results"]
    assert [(r["boundary"], r["role"], r["outgoing"], r["incoming"]) for r in rows] == [
        ("2026-01-19T06:00:00Z", "secondary", "david", "frank"),
        ("2026-01-19T06:00:00Z", "primary", "charlie", "eve"),
        ("2026-01-12T06:00:00Z", "secondary", "bob", "david"),
        ("2026-01-12T06:00:00Z", "primary", "alice", "charlie"),
    ]
    last = rows[-1]
    assert last["status"] == "draft"
    assert last["id"] == notes[(12, "primary")].pk
    assert last["markdown"].startswith("# On-call handoff: Alice → Charlie")
    assert dt.datetime.fromisoformat(last["boundary"]) == utc(2026, 1, 12, 6)


def test_the_outgoing_engineer_edits_and_submits(
    notes, cast, published, django_capture_on_commit_callbacks
):
    note = notes[(12, "primary")]
    alice = bearer_client(cast["alice"].user)
    edited = alice.patch(
        f"/api/v1/handoffs/{note.pk}/",
        {"ongoing": [{"text": "p99 creeping up", "watch": True}], "tips": "be calm"},
        format="json",
    )
    assert edited.status_code == 200
    assert edited.json()["ongoing"] == [{"text": "p99 creeping up", "watch": True}]
    assert "- **watch** p99 creeping up" in edited.json()["markdown"]
    with django_capture_on_commit_callbacks(execute=True):
        submitted = alice.post(f"/api/v1/handoffs/{note.pk}/submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert [(p.name, p.args) for p in published] == [(queue.HANDOFF_NOTIFY, (note.pk,))]
    again = alice.post(f"/api/v1/handoffs/{note.pk}/submit/")
    assert again.status_code == 409
    late_edit = alice.patch(
        f"/api/v1/handoffs/{note.pk}/", {"tips": "x"}, format="json"
    )
    assert late_edit.status_code == 409


def test_the_incoming_engineer_acknowledges_once_submitted(notes, cast):
    note = notes[(12, "primary")]
    charlie = bearer_client(cast["charlie"].user)
    early = charlie.post(f"/api/v1/handoffs/{note.pk}/acknowledge/")
    assert early.status_code == 409
    assert "not submitted" in early.json()["detail"]
    # Charlie receives this note; he did not write it.
    assert charlie.post(f"/api/v1/handoffs/{note.pk}/submit/").status_code == 403
    bearer_client(cast["alice"].user).post(f"/api/v1/handoffs/{note.pk}/submit/")
    acked = charlie.post(f"/api/v1/handoffs/{note.pk}/acknowledge/")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_at"] is not None


def test_a_teammate_neither_from_nor_to_may_read_but_not_act(notes, cast):
    note = notes[(12, "primary")]
    eve = bearer_client(cast["eve"].user)
    assert eve.get(f"/api/v1/handoffs/{note.pk}/").status_code == 200
    assert eve.post(f"/api/v1/handoffs/{note.pk}/submit/").status_code == 403
    assert eve.post(f"/api/v1/handoffs/{note.pk}/acknowledge/").status_code == 403
    assert (
        eve.patch(f"/api/v1/handoffs/{note.pk}/", {"tips": "x"}, format="json")
    ).status_code == 403


def test_staff_act_on_any_note(notes):
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    note = notes[(19, "secondary")]
    client = bearer_client(staff)
    assert client.post(f"/api/v1/handoffs/{note.pk}/submit/").status_code == 200
    assert client.post(f"/api/v1/handoffs/{note.pk}/acknowledge/").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"ongoing": "not a list"},
        {"ongoing": [{"watch": True}]},
        {"ongoing": [{"text": "x" * 2001}]},
        {"ongoing": [{"text": "x"}] * 51},
        {"tips": "x" * 10001},
    ],
)
def test_bad_edits_are_a_400(notes, cast, body):
    note = notes[(12, "primary")]
    answer = bearer_client(cast["alice"].user).patch(
        f"/api/v1/handoffs/{note.pk}/", body, format="json"
    )
    assert answer.status_code == 400
    assert "error" in answer.json()


def test_an_unknown_or_huge_id_is_a_404(notes, cast):
    alice = bearer_client(cast["alice"].user)
    assert alice.get("/api/v1/handoffs/999999/").status_code == 404
    assert alice.post(f"/api/v1/handoffs/{2**70}/submit/").status_code == 404


def test_a_members_history_is_the_notes_from_or_to_them(notes, cast):
    body = bearer_client(cast["alice"].user).get("/api/v1/handoffs/?member=charlie")
    rows = body.json()["results"]
    assert [(r["outgoing"], r["incoming"]) for r in rows] == [
        ("charlie", "eve"),
        ("alice", "charlie"),
    ]
