"""iCal feeds: the effective schedule of a member, a team or a rotation as an
RFC 5545 calendar, written by the ``icalendar`` library.

Everything comes from :func:`scheduling.selectors.team_schedule` -- the resolver
who-is-on-call, pay and the picture read -- so a feed can never disagree with
them (DESIGN.md §6, invariant 7).

Events.  For each role, consecutive effective segments in which the same member
holds the role *by the same shift and the same override* make one ``VEVENT``: an
override splits the replaced holder's event around the covering member's, a swap
shows both sides.  Times are written in UTC, consistently (``X-WR-TIMEZONE``
names the zone the reader thinks in); a UTC instant cannot shift by an hour when
a client's time-zone tables disagree with ours.

UIDs.  A UID is a hash of what the event *is*, never of row ids that a
regeneration replaces: the feed's scope, the role, the shift it belongs to
(rotation, the shift's role and planned start -- the same before and after a
regeneration that keeps the shape), the override behind it (or none), and its
ordinal among the pieces of that shift with that override.  Its times and holder
are not in it, so a changed event keeps its UID and gets a higher ``SEQUENCE``.

SEQUENCE and LAST-MODIFIED need memory: :class:`FeedEvent` rows hold, per scope
and UID, a fingerprint of what was last served.  They are reconciled when a feed
is rendered for a new schedule version (a cache miss), so an unchanged poll
writes nothing.  An event that is gone is served ``STATUS:CANCELLED`` with a
higher ``SEQUENCE`` for :data:`CANCELLED_FOR`, so clients drop it.

Window: from 30 days back (UTC midnight, so the body is stable all day) to the
end of the materialized horizon.

Cost.  A whole body is cached per scope, schedule version and day; a conditional
poll that matches is answered from the cached validators alone.  On a miss, each
VEVENT's bytes come from a per-process cache keyed on everything the event is
made of (:func:`_block`), so ``to_ical`` runs only for events that changed.

Options.  A member feed follows its member's options: busy instead of free, and a
``VALARM`` before each shift; team and rotation feeds stay free and silent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min, Q
from django.urls import reverse
from django.utils.text import compress_string, slugify
from icalendar.parser import Contentline

from scheduling.effective import Holder, Segment
from scheduling.models import FeedEvent, FeedToken, Member, Rotation, Shift, Team
from scheduling.plan import PRIMARY, SECONDARY
from scheduling.selectors import team_schedule
from scheduling.version import Version

UTC = dt.UTC
WINDOW_BACK = dt.timedelta(days=30)
CANCELLED_FOR = dt.timedelta(days=30)
REFRESH = dt.timedelta(hours=1)
PRODID = "-//oncall//on-call schedule feed//EN"
ROLE_TITLE = {PRIMARY: "Primary", SECONDARY: "Secondary"}
# Bump when the rendering changes, so caches of the old rendering are not served.
RENDERING = 2
# Rendered calendars kept in each process's memory (:class:`_LocalDocuments`):
# one per scope polled since the last schedule change, tens of kB each.
LOCAL_DOCUMENTS = 512
# Rendered VEVENT blocks kept per process (a few kB each): a few thousand
# feeds' worth of events.
BLOCK_CACHE_SIZE = 20_000
BEGIN_EVENT = b"BEGIN:VEVENT\r\n"
END_CALENDAR = b"END:VCALENDAR\r\n"


@dataclass
class Piece:
    """One event of a feed: a member holding a role, before it becomes a VEVENT."""

    team: Team
    rotation: Rotation | None  # set for rotation feeds (named in the summary)
    role: str
    holder: Holder
    starts_at: dt.datetime
    ends_at: dt.datetime
    others: list[int] = field(default_factory=list)  # the other role's holders
    uid: str = ""
    summary: str = ""
    description: str = ""

    @property
    def member_id(self) -> int:
        return self.holder.member_id


@dataclass(frozen=True)
class Document:
    body: bytes
    etag: str  # strong, quoted
    last_modified: dt.datetime
    filename: str

    @cached_property
    def gzipped(self) -> bytes:
        """The body gzipped, once per process (calendar apps ask for gzip on
        every poll; compressing tens of kB each time cost more than the rest
        of an unchanged poll)."""
        return compress_string(self.body)


def window_start(now: dt.datetime) -> dt.datetime:
    day = now.astimezone(UTC).date() - dt.timedelta(days=WINDOW_BACK.days)
    return dt.datetime.combine(day, dt.time(), tzinfo=UTC)


def _uid_domain() -> str:
    return urlsplit(settings.PUBLIC_BASE_URL).hostname or "oncall"


def _shift_key(holder: Holder) -> tuple:
    shift = holder.shift
    return (holder.rotation_id, shift.role, shift.starts_at.astimezone(UTC))


def _override_key(holder: Holder) -> int | None:
    return None if holder.override is None else holder.override.pk


def _pieces(team: Team, segments: Sequence[Segment], role: str) -> list[Piece]:
    other = SECONDARY if role == PRIMARY else PRIMARY
    pieces: list[Piece] = []
    keys: list[tuple] = []
    for seg in segments:
        holder: Holder | None = getattr(seg.resolution, role)
        if holder is None:
            continue
        key = (holder.member_id, _shift_key(holder), _override_key(holder))
        if pieces and keys[-1] == key and pieces[-1].ends_at == seg.starts_at:
            piece = pieces[-1]
            piece.ends_at = seg.ends_at
        else:
            piece = Piece(team, None, role, holder, seg.starts_at, seg.ends_at)
            pieces.append(piece)
            keys.append(key)
        partner: Holder | None = getattr(seg.resolution, other)
        if partner is not None and partner.member_id not in piece.others:
            piece.others.append(partner.member_id)
    return pieces


def _assign_uids(scope: str, pieces: Iterable[Piece]) -> None:
    seen: dict[tuple, int] = {}
    domain = _uid_domain()
    for piece in sorted(pieces, key=lambda p: p.starts_at):
        key = (piece.role, _shift_key(piece.holder), _override_key(piece.holder))
        n = seen.get(key, 0)
        seen[key] = n + 1
        rotation_id, shift_role, shift_start = key[1]
        raw = (
            f"{scope}|{piece.role}|{rotation_id}|{shift_role}|"
            f"{shift_start.isoformat()}|{key[2]}|{n}"
        )
        piece.uid = f"{hashlib.sha256(raw.encode()).hexdigest()[:32]}@{domain}"


def _phone(member: Member | None) -> str:
    if member is None:
        return "?"
    if not member.phone:
        return member.display_name
    return f"{member.display_name} ({member.phone})"


def _describe(
    piece: Piece, members: dict[int, Member], *, kind: str, picture_url: str
) -> None:
    holder = members.get(piece.member_id)
    name = holder.display_name if holder else "?"
    role = ROLE_TITLE[piece.role]
    where = piece.team.name
    if piece.rotation is not None:
        where = f"{piece.team.name} / {piece.rotation.name}"
    title = f"{role} on-call · {where}"
    piece.summary = title if kind == FeedToken.MEMBER else f"{title} — {name}"
    other_role = ROLE_TITLE[SECONDARY if piece.role == PRIMARY else PRIMARY]
    lines = [f"{role} on call for {where}: {_phone(holder)}"]
    if piece.others:
        others = ", ".join(_phone(members.get(m)) for m in piece.others)
        lines.append(f"{other_role}: {others}")
    override = piece.holder.override
    if override is not None:
        planned = members.get(piece.holder.shift.member_id)
        if planned is not None and planned.pk != piece.member_id:
            lines.append(f"Covering for {planned.display_name}")
        if override.reason:
            lines.append(f"Reason: {override.reason}")
    day = piece.starts_at.astimezone(piece.team.tz).date()
    lines.append(f"Schedule: {picture_url}?start={day.isoformat()}")
    piece.description = "\n".join(lines)


def _horizon(rotations: Iterable[Rotation]) -> dt.datetime | None:
    ends = [r.generated_until for r in rotations if r.generated_until is not None]
    return max(ends) if ends else None


def _fetch_start(team: Team, start: dt.datetime) -> dt.datetime:
    """The real start of the shifts under way at ``start``, so the first events
    keep their real start instead of the window's edge (which moves daily)."""
    earliest = Shift.objects.filter(
        rotation__team=team, starts_at__lte=start, ends_at__gt=start
    ).aggregate(m=Min("starts_at"))["m"]
    return min(earliest, start) if earliest else start


def team_pieces(
    *,
    team: Team,
    scope: str,
    kind: str,
    start: dt.datetime,
    rotation: Rotation | None = None,
    member: Member | None = None,
) -> list[Piece]:
    """The events of ``team`` (or of one of its rotations, or one member's share)
    that end after ``start``, up to the end of the materialized horizon."""
    rotations = list(team.rotations.all())
    if rotation is not None:
        rotations = [r for r in rotations if r.pk == rotation.pk]
    end = _horizon(rotations)
    if end is None or end <= start:
        return []
    schedule = team_schedule(
        team=team,
        start=_fetch_start(team, start),
        end=end,
        only_rotation=rotation.pk if rotation is not None else None,
    )
    if rotation is not None:
        segments = schedule.per_rotation.get(rotation.pk, [])
    else:
        segments = schedule.effective
    pieces = _pieces(team, segments, PRIMARY) + _pieces(team, segments, SECONDARY)
    for piece in pieces:
        piece.rotation = rotation
    _assign_uids(scope, pieces)
    wanted = [
        p
        for p in pieces
        if p.ends_at > start and (member is None or p.member_id == member.pk)
    ]
    picture = settings.PUBLIC_BASE_URL + reverse(
        "admin:scheduling_team_schedule", args=[team.pk]
    )
    for piece in wanted:
        _describe(piece, schedule.members, kind=kind, picture_url=picture)
    return wanted


def member_teams(member: Member) -> list[Team]:
    """The teams where ``member`` can be on call: their teams, the teams of the
    rotations they are in, and of the overrides they hold."""
    return list(
        Team.objects.filter(
            Q(members=member)
            | Q(rotations__participants=member)
            | Q(rotations__overrides__member=member)
        ).distinct()
    )


def feed_pieces(*, feed: FeedToken, start: dt.datetime) -> list[Piece]:
    kind, scope = feed.kind, feed.scope
    if feed.member is not None:
        pieces: list[Piece] = []
        for team in member_teams(feed.member):
            pieces += team_pieces(
                team=team, scope=scope, kind=kind, start=start, member=feed.member
            )
        pieces.sort(key=lambda p: (p.starts_at, p.role))
        return pieces
    if feed.team is not None:
        return team_pieces(team=feed.team, scope=scope, kind=kind, start=start)
    rotation = feed.rotation
    assert rotation is not None  # noqa: S101 (the model's check constraint)
    return team_pieces(
        team=rotation.team, scope=scope, kind=kind, start=start, rotation=rotation
    )


def _fingerprint(piece: Piece, options: Options | None) -> str:
    raw = repr(
        (
            piece.starts_at.astimezone(UTC).isoformat(),
            piece.ends_at.astimezone(UTC).isoformat(),
            piece.member_id,
            piece.role,
            piece.summary,
            piece.description,
            # Busy/free and the reminder are part of what a client stores: a
            # change must raise SEQUENCE like any other.
            *(() if options is None or options == Options() else (options,)),
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def feed_events_reconcile(
    *,
    scope: str,
    pieces: Sequence[Piece],
    start: dt.datetime,
    stamp: dt.datetime,
    options: Options | None = None,
) -> dict[str, FeedEvent]:
    """Bring the stored events of ``scope`` in line with ``pieces``: new ones at
    ``SEQUENCE`` 0, changed ones one higher, vanished ones cancelled (one higher).
    ``stamp`` (the schedule version's time) is their ``LAST-MODIFIED``, so two
    processes rendering the same version write the same thing."""
    stored = {
        e.uid: e
        for e in FeedEvent.objects.select_for_update().filter(
            scope=scope, ends_at__gt=start
        )
    }
    new: list[FeedEvent] = []
    for piece in pieces:
        fingerprint = _fingerprint(piece, options)
        row = stored.get(piece.uid)
        values = {
            "fingerprint": fingerprint,
            "starts_at": piece.starts_at,
            "ends_at": piece.ends_at,
            "summary": piece.summary[:300],
        }
        if row is None:
            new.append(
                FeedEvent(scope=scope, uid=piece.uid, modified_at=stamp, **values)
            )
        elif row.fingerprint != fingerprint or row.cancelled_at is not None:
            FeedEvent.objects.filter(pk=row.pk, sequence=row.sequence).update(
                sequence=row.sequence + 1,
                modified_at=stamp,
                cancelled_at=None,
                **values,
            )
    current = {p.uid for p in pieces}
    gone = [
        row
        for uid, row in stored.items()
        if uid not in current and row.cancelled_at is None
    ]
    for row in gone:
        FeedEvent.objects.filter(pk=row.pk, sequence=row.sequence).update(
            sequence=row.sequence + 1, modified_at=stamp, cancelled_at=stamp
        )
    FeedEvent.objects.bulk_create(new, ignore_conflicts=True)
    # Long gone: neither served nor needed to compare with.
    FeedEvent.objects.filter(scope=scope, ends_at__lt=start - CANCELLED_FOR).delete()
    return {e.uid: e for e in FeedEvent.objects.filter(scope=scope, ends_at__gt=start)}


def _calendar_name(feed: FeedToken) -> tuple[str, str]:
    """(X-WR-CALNAME, X-WR-TIMEZONE)."""
    if feed.member is not None:
        teams = member_teams(feed.member)
        where = teams[0].name if len(teams) == 1 else "On-call"
        label = f"{where} on-call" if len(teams) == 1 else where
        return f"{label} — {feed.member.display_name}", feed.member.time_zone
    if feed.team is not None:
        return f"{feed.team.name} on-call", feed.team.time_zone
    rotation = feed.rotation
    assert rotation is not None  # noqa: S101
    return f"{rotation.team.name} on-call — {rotation.name}", rotation.tz.key


def feed_filename(feed: FeedToken) -> str:
    if feed.member is not None:
        name = feed.member.username
    elif feed.team is not None:
        name = feed.team.slug
    else:
        assert feed.rotation is not None  # noqa: S101
        name = f"{feed.rotation.team.slug}-{feed.rotation.name}"
    return f"{slugify(name) or 'feed'}-oncall.ics"


@dataclass(frozen=True)
class Options:
    """A member's feed options (their own feed only: a team or rotation feed is
    read by many, so it stays free and silent)."""

    busy: bool = False
    alarm_minutes: int | None = None


def feed_options(feed: FeedToken) -> Options:
    member = feed.member
    if member is None:
        return Options()
    return Options(busy=member.feed_busy, alarm_minutes=member.feed_alarm_minutes)


@lru_cache(maxsize=BLOCK_CACHE_SIZE)
def _block(
    uid: str,
    sequence: int,
    modified_at: dt.datetime,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    summary: str,
    description: str,
    status: str,
    options: Options,
) -> bytes:
    """One VEVENT as icalendar writes it, without DTSTAMP (spliced in by
    :func:`render`, as it moves with every schedule version while the rest of an
    event does not).  Cached on everything it is made of, so an event is written
    once per process however many versions and feeds show it: ``to_ical`` is
    most of a render's cost."""
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstart", starts_at.astimezone(UTC))
    event.add("dtend", ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("sequence", sequence)
    event.add("last-modified", modified_at.astimezone(UTC))
    if options.busy:
        event.add("transp", "OPAQUE")
        event.add("x-microsoft-cdo-busystatus", "BUSY")
    else:
        # Being on call is not being busy: a busy block would make Outlook and
        # Google refuse meetings over a whole on-call week.
        event.add("transp", "TRANSPARENT")
        event.add("x-microsoft-cdo-busystatus", "FREE")
    if description:
        event.add("description", description)
    event.add("status", status)
    if options.alarm_minutes and status == "CONFIRMED":
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -dt.timedelta(minutes=options.alarm_minutes))
        alarm.add("description", f"Starting in {options.alarm_minutes} min: {summary}")
        event.add_component(alarm)
    return event.to_ical()


def _stamped(block: bytes, stamp_line: bytes) -> bytes:
    head, rest = block[: len(BEGIN_EVENT)], block[len(BEGIN_EVENT) :]
    return head + stamp_line + rest


def render(
    *,
    feed: FeedToken,
    pieces: Sequence[Piece],
    events: dict[str, FeedEvent],
    stamp: dt.datetime,
    now: dt.datetime,
) -> bytes:
    """The calendar, as bytes: live events in time order, then the cancelled ones
    still announced.  Every line is written by ``icalendar``: the calendar's own
    properties, each event (:func:`_block`) and the DTSTAMP line."""
    name, zone = _calendar_name(feed)
    options = feed_options(feed)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone)
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    stamp_line = (
        Contentline.from_parts(
            "DTSTAMP",
            icalendar.Parameters(),
            icalendar.vDatetime(stamp.astimezone(UTC)).to_ical().decode(),
        ).to_ical()
        + b"\r\n"
    )
    blocks: list[bytes] = []
    live = {p.uid for p in pieces}
    for piece in pieces:
        row = events[piece.uid]
        blocks.append(
            _block(
                row.uid,
                row.sequence,
                row.modified_at,
                row.starts_at,
                row.ends_at,
                row.summary,
                piece.description,
                "CONFIRMED",
                options,
            )
        )
    cutoff = now - CANCELLED_FOR
    cancelled = sorted(
        (
            e
            for e in events.values()
            if e.uid not in live and e.cancelled_at and e.cancelled_at > cutoff
        ),
        key=lambda e: (e.starts_at, e.uid),
    )
    for row in cancelled:
        blocks.append(
            _block(
                row.uid,
                row.sequence,
                row.modified_at,
                row.starts_at,
                row.ends_at,
                row.summary,
                "",
                "CANCELLED",
                options,
            )
        )
    head = cal.to_ical()
    if not head.endswith(END_CALENDAR):  # the writer's shape is what we splice into
        raise RuntimeError("unexpected calendar serialization")
    return b"".join(
        [
            head[: -len(END_CALENDAR)],
            *(_stamped(b, stamp_line) for b in blocks),
            END_CALENDAR,
        ]
    )


def _cache_key(scope: str, version: Version, start: dt.datetime) -> str:
    # The version's time as well as its number: a database restored from a
    # backup counts the same numbers again, for other schedules.
    changed = int(version.changed_at.timestamp() * 1_000_000)
    return f"ical:{RENDERING}:{scope}:{version.number}.{changed}:{start:%Y%m%d}"


class _LocalDocuments:
    """The last rendered calendars, in this process's memory, by cache key.

    An unchanged poll is then one indexed lookup and a dictionary read: no
    round trip to the shared cache, no unpickling of a body.  Keys hold the
    schedule version, so an entry is never stale, only unused; the least
    recently used go first.  gthread workers share it between threads: the lock
    makes each read and write whole."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._docs: OrderedDict[str, Document] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Document | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                self._docs.move_to_end(key)
            return doc

    def put(self, key: str, doc: Document) -> None:
        with self._lock:
            self._docs[key] = doc
            self._docs.move_to_end(key)
            while len(self._docs) > self.size:
                self._docs.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._docs.clear()


_local = _LocalDocuments(LOCAL_DOCUMENTS)


def forget_local_documents() -> None:
    """Empty this process's copies (tests do, between databases)."""
    _local.clear()


def cached_document(
    *, scope: str, version: Version, now: dt.datetime
) -> Document | None:
    """The calendar of ``scope`` for ``version`` if it was rendered already, by
    this process (memory) or another (the shared cache); ``None`` otherwise,
    and then :func:`feed_document` renders it."""
    key = _cache_key(scope, version, window_start(now))
    doc = _local.get(key)
    if doc is None:
        shared = cache.get(key)
        if shared is None:
            return None
        doc = Document(*shared)
        _local.put(key, doc)
    return doc


def feed_document(*, feed: FeedToken, version: Version, now: dt.datetime) -> Document:
    """The feed's calendar for ``version`` of the schedule, rendered once per
    version and day and scope (every token of the same scope shares it)."""
    doc = cached_document(scope=feed.scope, version=version, now=now)
    if doc is not None:
        return doc
    start = window_start(now)
    # The body changes when the schedule does and when the window moves (daily).
    stamp = max(version.changed_at, start + WINDOW_BACK)
    pieces = feed_pieces(feed=feed, start=start)
    events = feed_events_reconcile(
        scope=feed.scope,
        pieces=pieces,
        start=start,
        stamp=version.changed_at,
        options=feed_options(feed),
    )
    body = render(feed=feed, pieces=pieces, events=events, stamp=stamp, now=now)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    doc = Document(body, etag, stamp, feed_filename(feed))
    key = _cache_key(feed.scope, version, start)
    cache.set(key, (doc.body, doc.etag, doc.last_modified, doc.filename), 24 * 3600)
    _local.put(key, doc)
    return doc
