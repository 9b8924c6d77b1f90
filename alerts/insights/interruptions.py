"""Which page rows are interruptions: the rule page load and alert quality share.

An interruption is one SMS or call that reached the provider (``sent_at`` set).
The same page over several channels counts once: a call is left out when the SMS
of the same page (incident, cycle, step, repeat, member) went out outside a
bundle.  Bundled pages are the bundle's business (``page_load.py`` counts each
bundle once per delivery).
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from alerts.models import Page


def _another_sms_went_out() -> Exists:
    """The SMS of the same page went out, and it is another row than this one: true
    for a call whose SMS was sent, never for the SMS itself (the page key includes
    the channel, so an SMS has no other SMS of the same page).  Written as a plain
    ``NOT EXISTS`` so that PostgreSQL runs it as one anti-join, not a subquery per
    row."""
    return Exists(
        Page.objects.filter(
            incident=OuterRef("incident"),
            cycle=OuterRef("cycle"),
            step=OuterRef("step"),
            repeat=OuterRef("repeat"),
            member=OuterRef("member"),
            channel=Page.Channel.SMS,
            sent_at__isnull=False,
            bundle__isnull=True,
        ).exclude(pk=OuterRef("pk"))
    )


def interruptions(pages: QuerySet[Page], *, bundled: bool = False) -> QuerySet[Page]:
    """``pages`` narrowed to one row per interruption; with ``bundled``, the
    pages that went out inside a bundle count too (each its own row)."""
    sent = pages.filter(sent_at__isnull=False)
    if not bundled:
        sent = sent.filter(bundle__isnull=True)
    return sent.filter(~_another_sms_went_out()).order_by()


def escalated_past() -> Exists:
    """Somebody else was paged for the incident after this page (a later step or
    repeat of the same cycle) before anyone acknowledged it."""
    later = (
        Page.objects.filter(incident=OuterRef("incident"), cycle=OuterRef("cycle"))
        .exclude(member=OuterRef("member"))
        .filter(
            Q(repeat__gt=OuterRef("repeat"))
            | Q(repeat=OuterRef("repeat"), step__gt=OuterRef("step"))
        )
        .filter(
            Q(incident__acknowledged_at__isnull=True)
            | Q(step_due_at__lt=F("incident__acknowledged_at"))
        )
    )
    return Exists(later)
