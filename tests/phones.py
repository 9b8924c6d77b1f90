"""The phones the code under test pages, and the rule that every page is expected.

Pages leave through the console transport (its in-process outbox) or through
Twilio's API (the local fake in ``tests/fake_twilio.py``).  :class:`Phones` sees
both.  A test *takes* what it expects — :meth:`Phones.expect_sms`,
:meth:`Phones.expect_call`, or :meth:`Phones.sent` to read a list it asserts on —
and whatever nobody took fails the test (the ``phones`` fixture, autouse, in
``tests/conftest.py``), with the list of unexpected messages.  GoAlert's harness
does the same: a message nobody expected is a bug, however harmless it looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.transports import console
from tests.cast import PHONES


@dataclass(frozen=True)
class Message:
    """One SMS or call, however it left: ``raw`` is the console transport's
    ``Sent`` or the fake Twilio's ``Recorded``."""

    via: str  # "console" or "twilio"
    kind: str  # "sms" or "call"
    to: str
    body: str  # the SMS text; for a call, the TwiML URL
    raw: Any

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} via {self.via}: {self.body!r}"


def _number(to: str | None) -> str | None:
    """``alice`` or ``+254700000001``: a cast name stands for its phone."""
    return PHONES.get(to, to) if to is not None else None


class Phones:
    def __init__(self) -> None:
        self._fakes: list = []
        self._taken: set[int] = set()  # id() of the raw records a test took

    # --- what is watched ---------------------------------------------------------
    def watch(self, fake) -> None:
        """Also watch a :class:`tests.fake_twilio.FakeTwilio`: what the test reads
        through its ``messages()`` and ``calls()`` counts as taken."""
        self._fakes.append(fake)
        fake.on_read = lambda records: self._taken.update(map(id, records))

    def reset(self) -> None:
        """A new test: an empty outbox, no fake watched, nothing taken."""
        console.clear()
        self._fakes.clear()
        self._taken.clear()

    def _all(self) -> list[Message]:
        found = [
            Message("console", sent.kind, sent.to, sent.body, sent)
            for sent in list(console.OUTBOX)
        ]
        for fake in self._fakes:
            found += [
                Message(
                    "twilio",
                    "sms" if r.kind == "message" else "call",
                    r.to,
                    r.body or r.form.get("Url", ""),
                    r,
                )
                for r in fake.requests_snapshot()
            ]
        return found

    def _match(
        self, messages: list[Message], to: str | None, kind: str | None
    ) -> list[Message]:
        number = _number(to)
        return [
            m
            for m in messages
            if (number is None or m.to == number) and (kind is None or m.kind == kind)
        ]

    def _take(self, messages: list[Message]) -> None:
        self._taken.update(id(m.raw) for m in messages)

    # --- what a test says ------------------------------------------------------
    def sent(
        self, *, to: str | None = None, kind: str | None = None, via: str | None = None
    ) -> list:
        """Every message so far (to a name or number, of a kind), in the order
        sent, taken and expected from now on: the test asserts on the list."""
        found = [
            m for m in self._match(self._all(), to, kind) if via is None or m.via == via
        ]
        self._take(found)
        return [m.raw for m in found]

    def unexpected(self) -> list[Message]:
        return [m for m in self._all() if id(m.raw) not in self._taken]

    def _expect_one(self, kind: str, to: str, containing: str | None):
        fresh = [
            m
            for m in self._match(self.unexpected(), to, kind)
            if containing is None or containing in m.body
        ]
        wanted = f"one {kind} to {to}" + (
            f" containing {containing!r}" if containing else ""
        )
        assert len(fresh) == 1, (
            f"expected {wanted}, found {len(fresh)}; not yet expected:\n"
            + self.describe(self.unexpected())
        )
        self._take(fresh)
        return fresh[0].raw

    def expect_sms(self, *, to: str, containing: str | None = None):
        """Exactly one SMS to ``to`` (a cast name or a number) not expected yet,
        containing ``containing``; returns it."""
        return self._expect_one("sms", to, containing)

    def expect_call(self, *, to: str, containing: str | None = None):
        """Exactly one call to ``to`` not expected yet; returns it."""
        return self._expect_one("call", to, containing)

    def assert_quiet(self) -> None:
        """Nothing was sent that the test has not expected yet."""
        left = self.unexpected()
        assert not left, "unexpected messages:\n" + self.describe(left)

    @staticmethod
    def describe(messages: list[Message]) -> str:
        return "\n".join(f"  {m}" for m in messages) or "  (none)"


# One, like the console transport's outbox it watches; the ``phones`` fixture
# resets it for every test.
phones = Phones()
