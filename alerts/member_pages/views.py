"""The handoff pages: thin views over ``alerts.handoff``.

Who is looking: the member a used link was for (remembered in the session for that
note only), else the signed-in user.  A signed-in member sees their teams' notes;
another team's note is a 404.  Writing needs the right person: the outgoing
engineer edits and submits, the incoming one acknowledges, staff may do both.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from alerts.handoff.actions import (
    HandoffError,
    handoff_acknowledge,
    handoff_can_acknowledge,
    handoff_can_submit,
    handoff_edit,
    handoff_submit,
    ongoing_parse,
    ongoing_text,
)
from alerts.handoff.links import LinkRefused, link_use
from alerts.handoff.markdown import handoff_markdown
from alerts.markdown import render_html
from alerts.models import HandoffNote
from scheduling.access import scoped_to_teams, user_is_staff
from scheduling.models import Member

MAX_ID = 2**63 - 1
SESSION_KEY = "handoff_links"  # {note id: member id} opened through a link

REFUSED = {
    "expired": (
        410,
        "This link has expired.",
        "Links in handoff messages work for a limited time. Sign in to open the note.",
    ),
    "used": (
        410,
        "This link was already used.",
        "Each link opens the note once. Sign in to open it again.",
    ),
    "invalid": (
        404,
        "This link is not valid.",
        "Check that the whole link was copied, or sign in to find the note.",
    ),
}


def _notes() -> Any:
    return HandoffNote.objects.select_related(
        "team", "rotation", "outgoing__user", "incoming__user"
    )


class _Viewer:
    """Who looks at a note, and as whom they act."""

    def __init__(self, request: HttpRequest, note: HandoffNote) -> None:
        granted = request.session.get(SESSION_KEY, {}).get(str(note.pk))
        self.link_member = (
            Member.objects.filter(pk=granted).select_related("user").first()
            if granted
            else None
        )
        self.user = request.user

    def can_submit(self, note: HandoffNote) -> bool:
        if self.link_member is not None and self.link_member.pk == note.outgoing_id:
            return True
        return handoff_can_submit(self.user, note)

    def can_acknowledge(self, note: HandoffNote) -> bool:
        if self.link_member is not None and self.link_member.pk == note.incoming_id:
            return True
        return handoff_can_acknowledge(self.user, note)


def _find(request: HttpRequest, pk: int) -> HandoffNote | None:
    """The note if the session holds a link to it or the user may read its team;
    None when nobody is signed in (the caller sends them to log in); a 404 when
    a signed-in user may not know it exists."""
    if pk > MAX_ID:
        raise Http404("no such handoff note")  # past the database's integer range
    note = _notes().filter(pk=pk).first()
    granted = request.session.get(SESSION_KEY, {})
    if note is not None and str(note.pk) in granted:
        return note
    if not request.user.is_authenticated:
        return None
    if (
        note is None
        or not scoped_to_teams(
            HandoffNote.objects.filter(pk=pk), user=request.user
        ).exists()
    ):
        raise Http404("no such handoff note")
    return note


def handoff_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = link_use(token=token, now=timezone.now())
    except LinkRefused as refused:
        status, title, text = REFUSED[refused.reason]
        return render(
            request,
            "member_pages/refused.html",
            {"title": title, "text": text},
            status=status,
        )
    granted = dict(request.session.get(SESSION_KEY, {}))
    granted[str(link.note_id)] = link.member_id
    request.session[SESSION_KEY] = granted
    request.session.cycle_key()
    return redirect("handoff-note", pk=link.note_id)


def handoff_note(request: HttpRequest, pk: int) -> HttpResponse:
    note = _find(request, pk)
    if note is None:
        return redirect_to_login(request.get_full_path())
    viewer = _Viewer(request, note)
    error = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("save", "submit"):
                if not viewer.can_submit(note):
                    return _refuse("Only the outgoing engineer may change this note.")
                note = handoff_edit(
                    note=note,
                    ongoing=ongoing_parse(request.POST.get("ongoing", "")),
                    tips=request.POST.get("tips", ""),
                )
                if action == "submit":
                    handoff_submit(note=note, now=timezone.now())
            elif action == "acknowledge":
                if not viewer.can_acknowledge(note):
                    return _refuse("Only the incoming engineer may acknowledge it.")
                handoff_acknowledge(note=note, now=timezone.now())
            else:
                error, status = "Unknown action.", 400
        except (HandoffError, ValueError) as exc:
            error, status = str(exc), 409 if isinstance(exc, HandoffError) else 400
        if not error:
            return redirect("handoff-note", pk=note.pk)
        note = _notes().get(pk=note.pk)
    return render(
        request,
        "member_pages/handoff_note.html",
        {
            "note": note,
            "html": render_html(handoff_markdown(note)),
            "markdown": handoff_markdown(note),
            "can_edit": viewer.can_submit(note)
            and note.status == HandoffNote.Status.DRAFT,
            "can_acknowledge": viewer.can_acknowledge(note)
            and note.status == HandoffNote.Status.SUBMITTED,
            "ongoing": ongoing_text(note.ongoing),
            "error": error,
        },
        status=status,
    )


def _refuse(text: str) -> HttpResponse:
    return HttpResponse(text, status=403, content_type="text/plain; charset=utf-8")


def handoff_list(request: HttpRequest) -> HttpResponse:
    """The signed-in member's notes (from or to them) and their teams' history."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    notes = scoped_to_teams(_notes(), user=request.user)
    team = request.GET.get("team", "")
    if team:
        notes = notes.filter(team__slug=team)
    member = Member.objects.filter(user=request.user).first()
    mine = (
        notes.filter(Q(outgoing=member) | Q(incoming=member))
        if member
        else notes.none()
    )
    return render(
        request,
        "member_pages/handoff_list.html",
        {
            "mine": mine[:50],
            "team_notes": notes[:100],
            "team": team,
            "staff": user_is_staff(request.user),
        },
    )
