"""These tests use the escalation cast (``tests/escalation/conftest.py``):
payments (UTC) with alice, bob and charlie, alice on call as primary, bob secondary.
"""

from tests.escalation.conftest import (  # noqa: F401  (fixtures, by name)
    _clean_outbox,
    alice,
    bob,
    charlie,
    integration,
    policy,
    rotation,
    team,
)
