"""Alertmanager webhook bodies for the intake benchmark, in realistic mixes.

Every body is built from the recorded Alertmanager 0.25 body
``tests/fixtures/alertmanager/raw/a_single_firing.body``: the same keys, order and
compact encoding, with labels, annotations, ``startsAt``/``endsAt`` and the
fingerprints (Alertmanager's FNV-1a over the sorted labels) changed the way a
running Alertmanager changes them.

Kinds of webhook (what Alertmanager sends, and what each costs us):

``repeat``
    The group re-sent byte for byte (every ``repeat_interval``, and by each
    member of an HA cluster): the cheapest path.
``annotations``
    The same alerts with a templated annotation that changed (``value`` is
    73.1 %, then 73.4 % ...): a body we have not seen, for alerts we have.
``starts_at``
    One alert of the group resolved and fired again: a new ``startsAt``.
``join``
    A new alert (another ``instance``) joins an existing group.
``partial_resolve``
    One alert of a group of several is sent as resolved (``endsAt`` set).
``new_group``
    A group nobody has seen: a new incident and its first page.

``realistic`` (the default mix) weighs them 40/25/5/10/10/10: in steady state most
traffic is Alertmanager repeating what it already sent, a quarter carries changed
templated values, and a minority changes the shape of a group.  ``--mix`` takes
any other weights, e.g. ``repeat=1`` (the old benchmark's byte-identical repeats)
or ``annotations=1`` (the worker's costliest common path).
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "tests" / "fixtures" / "alertmanager" / "raw" / "a_single_firing.body"

KINDS = ("repeat", "annotations", "starts_at", "join", "partial_resolve", "new_group")
REALISTIC = {
    "repeat": 40,
    "annotations": 25,
    "starts_at": 5,
    "join": 10,
    "partial_resolve": 10,
    "new_group": 10,
}
NEVER = "0001-01-01T00:00:00Z"


def parse_mix(text: str) -> dict[str, int]:
    """``realistic`` or ``kind=weight,kind=weight``."""
    if text == "realistic":
        return dict(REALISTIC)
    weights: dict[str, int] = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind not in KINDS or not weight.isdigit():
            raise ValueError(f"--mix: {part!r}: use KIND=WEIGHT with KIND in {KINDS}")
        weights[kind] = int(weight)
    if not any(weights.values()):
        raise ValueError("--mix: all weights are zero")
    return weights


def fnv1a_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's model.Fingerprint of a label set (FNV-1a 64, sorted labels,
    0xff separators), as 16 hex digits."""
    value = 0xCBF29CE484222325
    for name in sorted(labels):
        for byte in name.encode() + b"\xff" + labels[name].encode() + b"\xff":
            value ^= byte
            value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


@dataclass
class Group:
    """One Alertmanager group as it evolves: its alerts and the last body sent."""

    service: str
    alerts: list[dict] = field(default_factory=list)
    last_body: bytes = b""
    instances: int = 0
    tick: int = 0


class Mix:
    """A deterministic stream of webhook bodies following ``weights``."""

    def __init__(
        self, weights: dict[str, int], seed: int = 1, prefix: str = "svc"
    ) -> None:
        self.prefix = prefix
        self.template = json.loads(TEMPLATE.read_bytes())
        self.weights = weights
        self.random = random.Random(seed)
        self.groups: list[Group] = []
        self.serial = 0
        self.counts = dict.fromkeys(KINDS, 0)

    # -- building bodies ---------------------------------------------------------
    def _alert(self, group: Group) -> dict:
        group.instances += 1
        alert = copy.deepcopy(self.template["alerts"][0])
        alert["labels"]["service"] = group.service
        high, low = divmod(group.instances, 250)
        alert["labels"]["instance"] = f"10.0.{high}.{low}:9100"
        alert["fingerprint"] = fnv1a_fingerprint(alert["labels"])
        alert["startsAt"] = self._time(group)
        return alert

    def _time(self, group: Group) -> str:
        group.tick += 1
        seconds = group.tick * 30
        hour, minute, second = (
            1 + seconds // 3600 % 20,
            seconds // 60 % 60,
            seconds % 60,
        )
        return f"2026-11-24T{hour:02d}:{minute:02d}:{second:02d}.868Z"

    def _body(self, group: Group) -> bytes:
        data = copy.deepcopy(self.template)
        data["alerts"] = group.alerts
        firing = [a for a in group.alerts if a["status"] == "firing"]
        data["status"] = "firing" if firing else "resolved"
        data["groupLabels"]["service"] = group.service
        common = dict(group.alerts[0]["labels"])
        for alert in group.alerts[1:]:
            common = {k: v for k, v in common.items() if alert["labels"].get(k) == v}
        data["commonLabels"] = common
        data["commonAnnotations"] = (
            group.alerts[0]["annotations"] if len(group.alerts) == 1 else {}
        )
        alertname = data["groupLabels"]["alertname"]
        service = group.service
        data["groupKey"] = f'{{}}:{{alertname="{alertname}", service="{service}"}}'
        # Compact, like Go's encoder, with its trailing newline.
        group.last_body = (json.dumps(data, separators=(",", ":")) + "\n").encode()
        return group.last_body

    def new_group(self) -> bytes:
        self.serial += 1
        group = Group(service=f"{self.prefix}-{self.serial:06d}")
        group.alerts = [self._alert(group)]
        self.groups.append(group)
        return self._body(group)

    # -- the kinds -----------------------------------------------------------------
    def _pick(self) -> Group:
        return self.random.choice(self.groups)

    def _kind(self, kind: str, group: Group | None = None) -> bytes:
        if kind == "new_group" or not self.groups:
            return self.new_group()
        group = group or self._pick()
        if kind == "repeat":
            return group.last_body
        if kind == "annotations":
            for alert in group.alerts:
                value = self.random.uniform(5, 20)
                alert["annotations"]["description"] = (
                    f"5xx ratio is {value:.1f}% on the {group.service} API."
                )
        elif kind == "starts_at":
            self.random.choice(group.alerts)["startsAt"] = self._time(group)
        elif kind == "join" or len(group.alerts) < 2:
            # A partial resolve needs a second alert: it joins first.
            group.alerts = [a for a in group.alerts if a["status"] == "firing"]
            group.alerts.append(self._alert(group))
        else:  # partial_resolve
            firing = [a for a in group.alerts if a["status"] == "firing"]
            if len(firing) >= 2:
                gone = self.random.choice(firing)
                gone["status"] = "resolved"
                gone["endsAt"] = self._time(group)
            else:
                group.alerts.append(self._alert(group))
        return self._body(group)

    def take(self, count: int) -> list[bytes]:
        """The next ``count`` bodies of the mix."""
        kinds = [k for k in KINDS if self.weights.get(k)]
        weights = [self.weights[k] for k in kinds]
        bodies = []
        for kind in self.random.choices(kinds, weights, k=count):
            self.counts[kind] += 1
            bodies.append(self._kind(kind))
        return bodies

    def each_group(self, kind: str) -> list[bytes]:
        """One body of ``kind`` for every group, in order (the worker's cost per
        kind: new groups, then each of them repeated, then each with changed
        annotations)."""
        return [self._kind(kind, group) for group in list(self.groups)]
