"""A note as Markdown (to paste into a wiki; ``alerts.markdown`` renders it as
safe HTML for the pages and the admin).  Times are shown in the team's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from alerts.markdown import escape as _escape
from alerts.models import HandoffNote


def _local(value: str | dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    at = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


def _age(seconds: int) -> str:
    hours, rest = divmod(max(seconds, 0), 3600)
    days, hours = divmod(hours, 24)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m"


def handoff_markdown(note: HandoffNote) -> str:
    """The whole note, in the shape SRE teams use."""
    tz = note.team.tz
    out = [
        f"# On-call handoff: {_escape(note.outgoing.display_name)} → "
        f"{_escape(note.incoming.display_name)}",
        "",
        f"- Team: {_escape(note.team.name)} · rotation {_escape(note.rotation.name)}"
        f" · {note.get_role_display()}",
        f"- Shift change: {_local(note.boundary, tz)}",
        f"- Status: {note.status}"
        + (" (submitted as drafted)" if note.auto_submitted else ""),
        "",
        "## Open incidents",
        "",
    ]
    if note.open_incidents:
        out += [
            "| # | title | urgency | status | age | acknowledged by |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for i in note.open_incidents:
            out.append(
                f"| {i['id']} | {_escape(i['title'])} | {i['urgency']} | "
                f"{i['status']} | {_age(i['age_seconds'])} | "
                f"{_escape(i['acknowledged_by'] or '—')} |"
            )
    else:
        out.append("None.")
    out += ["", "## Ongoing issues", ""]
    out += [
        f"- {'**watch** ' if item.get('watch') else ''}{_escape(item['text'])}"
        for item in note.ongoing
    ] or ["None."]
    out += ["", "## Upcoming maintenance (next shift)", ""]
    out += [
        f"- {_local(m['starts_at'], tz)} – {_local(m['ends_at'], tz)}: "
        f"{_escape(m['text'])}"
        for m in note.maintenance
    ] or ["None."]
    pages = note.pages or {}
    out += [
        "",
        "## Pages during the shift",
        "",
        f"- Pages: {pages.get('count', 0)}",
        f"- In sleep hours (22:00–08:00): {pages.get('sleep_hours', 0)}",
    ]
    noisiest = pages.get("noisiest") or []
    if noisiest:
        out.append(
            "- Noisiest: "
            # Notes drafted before grouping by alertname hold a "title".
            + ", ".join(
                f"{_escape(n.get('alertname') or n.get('title', ''))} ({n['pages']})"
                for n in noisiest
            )
        )
    still_open = pages.get("still_open") or []
    if still_open:
        out.append("- Still open: " + ", ".join(f"#{i}" for i in still_open))
    out += ["", "## Tips", "", note.tips.strip() or "None.", ""]
    return "\n".join(out)
