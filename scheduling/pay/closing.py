"""Closed months: stored once, never recomputed; late changes become adjustments.

An operator closes a team's month (:func:`month_close`): its statement lines --
those :func:`month_statement` computes for an open month -- are stored as
:class:`~scheduling.models.PayLine` rows, and from then on the month's statement
is read back from them, byte for byte.  A change that later touches a closed month
(a late override, a corrected rate) never rewrites it: the first open month after
a run of closed ones carries an *adjustment* line per member, currency, rotation
and role whose amount is what the closed month would pay now minus what it paid
(stored lines plus earlier adjustments), referencing the closed month and saying
why.  So a payroll export is append-only.

Reopening (:func:`month_reopen`) is a separate, logged staff action, refused while
a later month is closed (its stored adjustments count on this month's lines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Model, Q
from django.utils import timezone

from scheduling.models import (
    Override,
    PayGivenAway,
    PayLine,
    PayLogEntry,
    PayMonth,
    StipendRate,
    Team,
)
from scheduling.pay.money import minor_digits
from scheduling.pay.statements import (
    Report,
    Row,
    month_bounds,
    rows_of,
    team_pay,
)

ADJUSTMENT = PayLine.ADJUSTMENT


class ClosingError(ValueError):
    """A close or reopen that the rules refuse (the message says why)."""


@dataclass(frozen=True)
class MonthStatement:
    team: Team
    month: dt.date  # the first day
    closed: bool
    closed_at: dt.datetime | None
    rows: list[Row]
    # Overrides under which someone else held a member's role (no money;
    # explains a smaller line).  Stored with the lines when the month closes.
    given_away: list[GivenAwayRow] = field(default_factory=list)


@dataclass(frozen=True)
class GivenAwayRow:
    member_id: int
    username: str
    covered_by: str
    covered_by_id: int
    rotation_id: int | None
    rotation_name: str
    role: str
    override_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime


def given_away_rows(report: Report) -> list[GivenAwayRow]:
    """The report's given-away stretches, adjacent ones of one override joined."""
    out: list[GivenAwayRow] = []
    for g in sorted(
        report.given_away, key=lambda g: (g.member_id, g.override_id or 0, g.starts_at)
    ):
        row = GivenAwayRow(
            member_id=g.member_id,
            username=report.username(g.member_id),
            covered_by=report.username(g.covered_by),
            covered_by_id=g.covered_by,
            rotation_id=g.rotation_id,
            rotation_name=report.rotation_names.get(g.rotation_id, ""),
            role=g.role,
            override_id=g.override_id,
            starts_at=g.starts_at,
            ends_at=g.ends_at,
        )
        last = out[-1] if out else None
        if (
            last is not None
            and (last.member_id, last.override_id, last.role, last.covered_by)
            == (row.member_id, row.override_id, row.role, row.covered_by)
            and last.ends_at == row.starts_at
        ):
            out[-1] = replace(last, ends_at=row.ends_at)
        else:
            out.append(row)
    return sorted(out, key=lambda r: (r.username, r.starts_at))


def first_of(year: int, month: int) -> dt.date:
    try:
        return dt.date(year, month, 1)
    except ValueError as exc:
        raise ClosingError(f"{year}-{month:02d} is not a month") from exc


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _prev(month: dt.date) -> dt.date:
    return dt.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _quantized(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_digits(currency)))


def _row_of_line(line: PayLine) -> Row:
    return Row(
        member_id=line.member_id,
        username=line.member.username,
        currency=line.currency,
        kind=line.kind,
        rotation_id=line.rotation_id,
        rotation_name=line.rotation_name,
        role=line.role,
        rate=line.rate,
        multiplier=line.multiplier.normalize(),
        reason=line.reason,
        hours=line.hours,
        amount=_quantized(line.amount, line.currency),
        rounding=line.rounding,
        refers_to=line.refers_to,
        note=line.note,
        shift_ids=tuple(line.shift_ids),
        override_ids=tuple(line.override_ids),
    )


def _given_away_of(stored: PayGivenAway) -> GivenAwayRow:
    return GivenAwayRow(
        member_id=stored.member_id,
        username=stored.member.username,
        covered_by=stored.covered_by.username,
        covered_by_id=stored.covered_by_id,
        rotation_id=stored.rotation_id,
        rotation_name=stored.rotation_name,
        role=stored.role,
        override_id=stored.override_id,
        starts_at=stored.starts_at,
        ends_at=stored.ends_at,
    )


def _closed_run_before(team: Team, month: dt.date) -> list[PayMonth]:
    """The closed months right before ``month`` (no open month in between),
    oldest first: their late changes are adjusted in ``month``."""
    closed = {
        pm.month: pm
        for pm in PayMonth.objects.filter(
            team=team, month__lt=month, closed_at__isnull=False
        )
    }
    run = []
    cursor = _prev(month)
    while cursor in closed:
        run.append(closed[cursor])
        cursor = _prev(cursor)
    return run[::-1]


Key = tuple[int, str, int | None, str]


def _key(row: Row) -> Key:
    return (row.member_id, row.currency, row.rotation_id, row.role)


def _sums(rows: Iterable[Row]) -> dict[Key, tuple[Decimal, Decimal, Row]]:
    out: dict[Key, tuple[Decimal, Decimal, Row]] = {}
    for row in rows:
        amount, hours, _ = out.get(_key(row), (Decimal(0), Decimal(0), row))
        out[_key(row)] = (amount + row.amount, hours + row.hours, row)
    return out


def _why(closed: PayMonth, start: dt.datetime, end: dt.datetime) -> str:
    """What changed after ``closed`` was closed that touches its month."""
    since = closed.closed_at
    reasons: list[str] = []
    overrides = Override.objects.filter(
        rotation__team=closed.team,
        created_at__gt=since,
        starts_at__lt=end,
        ends_at__gt=start,
    ).select_related("member__user", "rotation")
    for ov in overrides.order_by("created_at", "pk"):
        text = f"override #{ov.pk}: {ov.member.username} covers {ov.role} of "
        text += f"{ov.rotation.name} from {ov.starts_at:%Y-%m-%d %H:%M} UTC"
        reasons.append(text + (f" ({ov.reason})" if ov.reason else ""))
    for rate in StipendRate.objects.filter(
        Q(team=closed.team), created_at__gt=since
    ).order_by("pk"):
        reasons.append(f"rate #{rate.pk} added: {rate}")
    if not reasons:
        reasons.append("the schedule changed after closing")
    head = f"late change to closed {closed.month:%Y-%m}: "
    return (head + "; ".join(reasons))[:500]


def _adjustments(team: Team, month: dt.date) -> list[Row]:
    rows: list[Row] = []
    for closed in _closed_run_before(team, month):
        start, end = month_bounds(team, closed.month.year, closed.month.month)
        now = _sums(rows_of(team_pay(team=team, start=start, end=end)))
        paid_lines = PayLine.objects.filter(
            Q(pay_month=closed, refers_to__isnull=True)
            | Q(pay_month__team=team, kind=ADJUSTMENT, refers_to=closed.month)
        ).select_related("member__user")
        paid = _sums(_row_of_line(line) for line in paid_lines)
        why: str | None = None
        for key in sorted(set(now) | set(paid), key=repr):
            amount_now, hours_now, row = now.get(key, (Decimal(0), Decimal(0), None))
            amount_paid, hours_paid, old = paid.get(key, (Decimal(0), Decimal(0), None))
            if amount_now == amount_paid:
                continue
            template = row or old
            if template is None:  # cannot happen: the key came from one of them
                continue
            why = why or _why(closed, start, end)
            rows.append(
                Row(
                    member_id=template.member_id,
                    username=template.username,
                    currency=template.currency,
                    kind=ADJUSTMENT,
                    rotation_id=template.rotation_id,
                    rotation_name=template.rotation_name,
                    role=template.role,
                    rate="",
                    multiplier=Decimal(1),
                    reason="",
                    hours=hours_now - hours_paid,
                    amount=amount_now - amount_paid,
                    rounding=Decimal("0.000000"),
                    refers_to=closed.month,
                    note=why,
                )
            )
    return rows


def month_statement(*, team: Team, year: int, month: int) -> MonthStatement:
    """The team's statement lines for a calendar month (team's zone): read back
    if the month is closed; else computed, with adjustments for late changes to
    the closed months right before it."""
    first = first_of(year, month)
    closed = PayMonth.objects.filter(
        team=team, month=first, closed_at__isnull=False
    ).first()
    if closed is not None:
        lines = closed.lines.select_related("member__user").order_by("position")
        given = closed.given_away.select_related(
            "member__user", "covered_by__user"
        ).order_by("position")
        return MonthStatement(
            team,
            first,
            True,
            closed.closed_at,
            [_row_of_line(ln) for ln in lines],
            [_given_away_of(g) for g in given],
        )
    start, end = month_bounds(team, year, month)
    report = team_pay(team=team, start=start, end=end)
    rows = rows_of(report)
    rows += _adjustments(team, first)
    rows.sort(key=lambda r: (r.username, r.currency, r.kind == ADJUSTMENT))
    return MonthStatement(team, first, False, None, rows, given_away_rows(report))


@transaction.atomic
def month_close(
    *, team: Team, year: int, month: int, by: Any = None, now: dt.datetime | None = None
) -> MonthStatement:
    """Store the month's statement as it stands; refused for a month not yet over
    or already closed."""
    now = now or timezone.now()
    first = first_of(year, month)
    _, end = month_bounds(team, year, month)
    if end > now:
        raise ClosingError(f"{first:%Y-%m} is not over yet in {team.time_zone}.")
    Team.objects.select_for_update().filter(pk=team.pk).first()
    pm, _ = PayMonth.objects.get_or_create(team=team, month=first)
    if pm.closed_at is not None:
        raise ClosingError(f"{first:%Y-%m} is already closed.")
    statement = month_statement(team=team, year=year, month=month)
    _insert_all(
        PayLine,
        [
            PayLine(
                pay_month=pm,
                position=i,
                member_id=row.member_id,
                currency=row.currency,
                kind=row.kind,
                rotation_id=row.rotation_id,
                rotation_name=row.rotation_name,
                role=row.role,
                rate=row.rate,
                multiplier=row.multiplier,
                reason=row.reason,
                hours=row.hours,
                amount=row.amount,
                rounding=row.rounding,
                refers_to=row.refers_to,
                note=row.note,
                shift_ids=list(row.shift_ids),
                override_ids=list(row.override_ids),
            )
            for i, row in enumerate(statement.rows)
        ],
    )
    _insert_all(
        PayGivenAway,
        [
            PayGivenAway(
                pay_month=pm,
                position=i,
                member_id=g.member_id,
                covered_by_id=g.covered_by_id,
                rotation_id=g.rotation_id,
                rotation_name=g.rotation_name,
                role=g.role,
                override_id=g.override_id,
                starts_at=g.starts_at,
                ends_at=g.ends_at,
            )
            for i, g in enumerate(statement.given_away)
        ],
    )
    pm.closed_at, pm.closed_by = now, by
    pm.save(update_fields=["closed_at", "closed_by"])
    PayLogEntry.objects.create(
        team=team, month=first, action=PayLogEntry.CLOSE, acted_at=now, by=by
    )
    # What was stored (tests check that reading it back gives the same rows).
    return MonthStatement(team, first, True, now, statement.rows, statement.given_away)


def _insert_all(model: type[Model], objs: list[Any]) -> None:
    """``bulk_create`` in as few INSERTs as the database takes.

    Django 5.2 assumes SQLite's old compile-time default of 999 variables per
    statement (``features.max_query_params``), so 12,000 lines of 18 columns
    took 219 INSERTs.  The SQLite library in use states its real limit
    (``SQLITE_LIMIT_VARIABLE_NUMBER``: 32,766 by default since SQLite 3.32,
    250,000 in Debian's build); for this call only, Django batches by that
    limit instead.  So a month's lines take one INSERT up to limit / 18 lines
    (13,888 on Debian, 1,820 on a default build) and one more per as many again.
    PostgreSQL has no such cap in Django: one INSERT already."""
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "sqlite":
        model._default_manager.bulk_create(objs)
        return
    import sqlite3

    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    features = connection.features
    assumed = features.max_query_params
    features.max_query_params = max(assumed, limit)
    try:
        model._default_manager.bulk_create(objs)
    finally:
        features.max_query_params = assumed


@transaction.atomic
def month_reopen(
    *,
    team: Team,
    year: int,
    month: int,
    by: Any = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> None:
    """Drop a closed month's stored lines so it is computed again; logged.
    Refused while a later month is closed."""
    now = now or timezone.now()
    first = first_of(year, month)
    Team.objects.select_for_update().filter(pk=team.pk).first()
    pm = PayMonth.objects.filter(
        team=team, month=first, closed_at__isnull=False
    ).first()
    if pm is None:
        raise ClosingError(f"{first:%Y-%m} is not closed.")
    later = PayMonth.objects.filter(
        team=team, month__gt=first, closed_at__isnull=False
    ).first()
    if later is not None:
        raise ClosingError(
            f"{later.month:%Y-%m} is closed after it; reopen that month first."
        )
    pm.lines.all().delete()
    pm.given_away.all().delete()
    pm.closed_at, pm.closed_by = None, None
    pm.save(update_fields=["closed_at", "closed_by"])
    PayLogEntry.objects.create(
        team=team,
        month=first,
        action=PayLogEntry.REOPEN,
        acted_at=now,
        by=by,
        note=note,
    )
