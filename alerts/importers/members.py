"""What every importer does with a person who is already here."""

from __future__ import annotations

from typing import Any

from scheduling.models import Member


def with_existing(
    username: str, teams: set[str], methods: list[dict[str, Any]]
) -> tuple[set[str], list[dict[str, Any]], Member | None]:
    """Someone already here keeps their other teams and numbers: the document's
    lists are exact, and an import only adds.  Returns the teams and contact
    methods to write (the source's first, then the member's own numbers the
    source does not have) and the member, or ``None`` for someone new."""
    existing = Member.objects.filter(user__username=username).first()
    if existing is None:
        return set(teams), list(methods), None
    known = {m["phone"] for m in methods}
    kept = [
        {"phone": c.phone, "label": c.label, "sms": c.sms, "voice": c.voice}
        for c in existing.contact_methods.order_by("position", "pk")
        if c.phone not in known
    ]
    return (
        set(teams) | {t.slug for t in existing.teams.all()},
        [*methods, *kept],
        existing,
    )
