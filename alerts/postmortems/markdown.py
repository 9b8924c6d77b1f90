"""A postmortem as Markdown, in the blameless template (the export; the admin
renders it through ``alerts.markdown``).  Times in the team's zone."""

from __future__ import annotations

import datetime as dt

from alerts.markdown import escape
from alerts.models import Postmortem
from alerts.postmortems.budget import budget_line, postmortem_budget


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _section(title: str, text: str) -> list[str]:
    return [f"## {title}", "", text.strip() or "_To be written._", ""]


def postmortem_markdown(postmortem: Postmortem) -> str:
    tz = postmortem.team.tz
    started = postmortem.started_at.astimezone(tz)
    incidents = ", ".join(
        f"#{pk}" for pk in sorted(postmortem.incidents.values_list("pk", flat=True))
    )
    out = [
        f"# Postmortem: {escape(postmortem.title)}",
        "",
        f"- Date: {started:%Y-%m-%d} ({postmortem.team.time_zone})",
        f"- Duration: {_duration(postmortem.duration)} "
        f"({started:%H:%M} – {postmortem.ended_at.astimezone(tz):%H:%M %Z})",
        f"- Severity: {escape(postmortem.severity) or '—'}",
        f"- Incidents: {incidents}",
        f"- Status: {postmortem.status}",
        "",
        "This postmortem is blameless: it is about what happened and how the system "
        "and our processes let it happen, not about who.",
        "",
    ]
    out += _section("Impact", postmortem.impact)
    budget = postmortem_budget(postmortem=postmortem)
    if budget:
        out += ["### Error budget consumed", ""]
        out += [f"- {escape(budget_line(item))}" for item in budget]
        out.append("")
    out += ["## Timeline", ""]
    out += [
        f"- {dt.datetime.fromisoformat(e['at']).astimezone(tz):%Y-%m-%d %H:%M:%S %Z} "
        f"· #{e['incident']} · {e['kind']} · {escape(e['text'])}"
        for e in postmortem.timeline
    ] or ["_No entries._"]
    out.append("")
    out += _section("Root cause", postmortem.root_cause)
    out += _section("What went well", postmortem.went_well)
    out += _section("What went wrong", postmortem.went_wrong)
    out += ["## Action items", ""]
    items = list(postmortem.action_items.select_related("owner__user"))
    if items:
        out += [
            "| priority | action | owner | due | status |",
            "| --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| {i.priority} | {escape(i.text)} | {escape(i.owner.username)} | "
            f"{i.due:%Y-%m-%d} | {i.status} |"
            for i in items
        ]
    else:
        out.append("_None yet._")
    out.append("")
    out += _section("Lessons learned", postmortem.lessons)
    return "\n".join(out)
