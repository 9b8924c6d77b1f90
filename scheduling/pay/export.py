"""The payroll CSV: one row per member x currency x line type.

Columns (stable; documented in the README): ``team``, ``period_start``,
``period_end`` (ISO dates in the team's zone, both included), ``member`` (user
name), ``currency`` (ISO 4217), ``line_type`` (``shift``, ``override``,
``minimum``, ``adjustment``), ``hours`` (six decimals), ``amount`` (the
currency's number of decimals, a plain decimal string), ``refers_to``
(adjustments: the closed months they correct, ``YYYY-MM`` separated by spaces).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from decimal import Decimal

from scheduling.pay.money import amount_text
from scheduling.pay.statements import Row

COLUMNS = (
    "team",
    "period_start",
    "period_end",
    "member",
    "currency",
    "line_type",
    "hours",
    "amount",
    "refers_to",
)
LINE_TYPES = ("shift", "override", "minimum", "adjustment")


def payroll_rows(
    rows: Iterable[Row], *, team: str, first: dt.date, last: dt.date
) -> list[dict[str, str]]:
    sums: dict[tuple[str, str, str], list] = {}
    for row in rows:
        key = (row.username, row.currency, row.kind)
        entry = sums.setdefault(key, [Decimal(0), Decimal(0), set()])
        entry[0] += row.hours
        entry[1] += row.amount
        if row.refers_to is not None:
            entry[2].add(f"{row.refers_to:%Y-%m}")
    out = []
    for (member, currency, kind), (hours, amount, refers) in sorted(
        sums.items(), key=lambda kv: (kv[0][0], kv[0][1], LINE_TYPES.index(kv[0][2]))
    ):
        out.append(
            {
                "team": team,
                "period_start": first.isoformat(),
                "period_end": last.isoformat(),
                "member": member,
                "currency": currency,
                "line_type": kind,
                "hours": amount_text(hours),
                "amount": amount_text(amount),
                "refers_to": " ".join(sorted(refers)),
            }
        )
    return out


def payroll_csv(
    rows: Iterable[Row], *, team: str, first: dt.date, last: dt.date
) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(payroll_rows(rows, team=team, first=first, last=last))
    return buf.getvalue()
