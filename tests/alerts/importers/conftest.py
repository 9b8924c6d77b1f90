from __future__ import annotations

import pytest


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The waits the client asked for (``Retry-After``), without waiting."""
    asked: list[float] = []
    monkeypatch.setattr("alerts.importers.client.time.sleep", asked.append)
    return asked
