"""What people answer to a page: an SMS reply or a key pressed during a call.

Each answer becomes one call to the incident services (acknowledge, resolve,
escalate) with who did it and how, so the timeline reads "acknowledged by Alice
via SMS".  Who may act: a member who was paged for the incident or who belongs to
its team; anyone else gets a polite refusal and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from alerts.incidents.escalate import incident_escalate
from alerts.incidents.state import (
    IncidentStateError,
    incident_acknowledge,
    incident_resolve,
)
from alerts.models import Incident, Page, PageBundle
from alerts.paging.bundles import bundle_mark_answered
from alerts.paging.commands import HELP_TEXT, SmsCommand, parse_sms_command
from alerts.paging.segments import fit
from alerts.paging.status import page_mark_answered
from scheduling.models import Member

UNKNOWN_SENDER = (
    "This number is not registered with oncall, so nothing was changed. "
    "Ask your admin to add it to your profile."
)


@dataclass(frozen=True)
class Reply:
    text: str
    changed: bool


def member_by_phone(phone: str) -> Member | None:
    """The active member a phone number belongs to (profile or contact method)."""
    if not phone:
        return None
    member = (
        Member.objects.select_related("user")
        .filter(Q(phone=phone) | Q(contact_methods__phone=phone), active=True)
        .distinct()
        .order_by("pk")
        .first()
    )
    return member


def may_act(*, member: Member, incident: Incident) -> bool:
    return (
        Page.objects.filter(incident=incident, member=member).exists()
        or incident.team.members.filter(pk=member.pk).exists()
    )


def incident_act(
    *, incident: Incident, member: Member, action: str, via: str
) -> tuple[str, bool]:
    """Apply one action; returns (what to tell the person, changed?)."""
    number = incident.pk
    try:
        if action == "ack":
            if incident.status == Incident.Status.ACKNOWLEDGED:
                who = incident.acknowledged_by or "someone"
                return f"#{number} was already acknowledged by {who}.", False
            incident_acknowledge(incident=incident, by=member, via=via)
            return f"Acknowledged #{number}. Escalation stopped.", True
        if action == "resolve":
            if incident.status == Incident.Status.RESOLVED:
                return f"#{number} is already resolved.", False
            incident_resolve(
                incident=incident,
                by=member,
                how="manual",
                text=f"resolved by {member.display_name} via {via}",
            )
            return f"Resolved #{number}.", True
        if action == "escalate":
            incident_escalate(incident=incident, by=member, via=via)
            return f"Escalating #{number} to the next step now.", True
    except IncidentStateError as exc:
        return f"Nothing changed: {exc}.", False
    return HELP_TEXT, False


def _mark_pages_answered(*, incident: Incident, member: Member) -> None:
    now = timezone.now()
    for page in Page.objects.filter(
        incident=incident,
        member=member,
        status__in=[Page.Status.SENT, Page.Status.DELIVERED, Page.Status.SENDING],
    ):
        page_mark_answered(page=page, now=now)


def sms_reply(*, from_number: str, body: str) -> Reply:
    """Handle one inbound SMS; returns the text to answer with."""
    member = member_by_phone(from_number)
    if member is None:
        return Reply(UNKNOWN_SENDER, False)
    command = parse_sms_command(body)
    if command is None:
        return Reply(HELP_TEXT, False)
    if command.all:
        return _sms_bundle(member=member, command=command)
    incident: Incident | None
    if command.incident_id is None:
        latest = (
            Page.objects.filter(member=member)
            .exclude(status__in=[Page.Status.QUEUED, Page.Status.CANCELLED])
            .order_by("-created_at", "-pk")
            .select_related("incident__team")
            .first()
        )
        if latest is None:
            return Reply("You have no page to answer. " + HELP_TEXT, False)
        incident = latest.incident
    else:
        incident = (
            Incident.objects.select_related("team", "acknowledged_by__user")
            .filter(pk=command.incident_id)
            .first()
        )
        if incident is None or not may_act(member=member, incident=incident):
            # The same answer for "no such incident" and "not yours": a stranger
            # learns nothing about which incident numbers exist.
            return Reply(
                f"Sorry, #{command.incident_id} is not an incident you can act on; "
                "nothing was changed.",
                False,
            )
    text, changed = incident_act(
        incident=incident, member=member, action=command.action, via="SMS"
    )
    if changed:
        _mark_pages_answered(incident=incident, member=member)
    return Reply(fit(text), changed)


def _sms_bundle(*, member: Member, command: SmsCommand) -> Reply:
    # ACK ALL answers the bundle SMS that asked for it: the latest one (a storm's
    # bundle call is answered with its own keys).
    bundle = (
        PageBundle.objects.filter(
            member=member,
            channel=PageBundle.Channel.SMS,
            status__in=[PageBundle.Status.SENT, PageBundle.Status.DELIVERED],
        )
        .order_by("-sent_at", "-pk")
        .first()
    )
    if bundle is None:
        return Reply("You have no bundled page to answer. " + HELP_TEXT, False)
    text, changed = bundle_act(
        bundle=bundle, member=member, action=command.action, via="SMS (all)"
    )
    return Reply(fit(text), changed)


def bundle_act(
    *, bundle: PageBundle, member: Member, action: str, via: str
) -> tuple[str, bool]:
    """Apply one action to every incident of a bundle (ACK ALL, or 1 on a bundle
    call); returns (what to tell the person, changed anything?)."""
    incidents = list(
        Incident.objects.filter(pages__bundle=bundle)
        .distinct()
        .select_related("team", "acknowledged_by__user")
        .order_by("pk")
    )
    done: list[int] = []
    for incident in incidents:
        _, changed = incident_act(
            incident=incident, member=member, action=action, via=via
        )
        if changed:
            done.append(incident.pk)
    if not done:
        return f"Nothing to do: the {len(incidents)} incidents are handled.", False
    bundle_mark_answered(bundle=bundle)
    verb = {"ack": "Acknowledged", "resolve": "Resolved", "escalate": "Escalated"}[
        action
    ]
    listed = ", ".join(f"#{n}" for n in done)
    return f"{verb} {len(done)}: {listed}", True


VOICE_ACTIONS = {"1": "ack", "2": "escalate", "3": "resolve"}


def voice_keypress(*, page: Page, digit: str) -> tuple[str, bool]:
    """A key pressed during a page's call; returns (what to say, hang up?)."""
    action = VOICE_ACTIONS.get(digit)
    if action is None:
        return "", False
    incident = Incident.objects.select_related("team", "acknowledged_by__user").get(
        pk=page.incident_id
    )
    text, changed = incident_act(
        incident=incident, member=page.member, action=action, via="phone call"
    )
    if changed:
        page_mark_answered(page=page)
    return text.replace("#", "incident "), True


def bundle_keypress(*, bundle: PageBundle, digit: str) -> tuple[str, bool]:
    """A key pressed during a storm's bundle call: the action applies to every
    incident of the bundle.  Returns (what to say, hang up?)."""
    action = VOICE_ACTIONS.get(digit)
    if action is None:
        return "", False
    member = Member.objects.select_related("user").get(pk=bundle.member_id)
    text, _ = bundle_act(
        bundle=bundle, member=member, action=action, via="phone call (all)"
    )
    return text.replace("#", "incident "), True
