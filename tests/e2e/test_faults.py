"""Scenarios 3, 4 and 6: parts fail under a running service; nothing is lost or
doubled.

3. Redis down: Alertmanager's webhooks are still answered 2xx and stored; when Redis
   is back every stored delivery is processed and paged, none twice.
4. Worker killed (SIGKILL) while incidents are mid-escalation: a new worker fires
   every due step once, none twice.
6. Twilio failing (500, 429, timeouts): pages are retried with backoff, then fall
   through to the next step; nothing lost, nothing doubled.
"""

from __future__ import annotations

import time
from collections import Counter

from tests.e2e.stack import wait_for

# Storm protection would bundle pages across these scenarios (they page the same
# people many times in minutes); it has its own scenario in test_storm.py.
STACK_ENV = {"STORM_MAX_PAGES": "0"}


def alerts_named(prefix: str, count: int) -> list[dict]:
    return [
        {
            "labels": {
                "alertname": f"{prefix}{n}",
                "service": "payments",
                "severity": "critical",
            },
            "annotations": {"summary": f"{prefix} {n}"},
        }
        for n in range(count)
    ]


def incidents_named(stack, prefix: str) -> list[dict]:
    return [i for i in stack.incidents() if prefix in i["title"]]


def sms_per_incident(stack, phone: str, numbers: list[int]) -> Counter:
    counts: Counter = Counter()
    for message in stack.twilio.messages(phone):
        for number in numbers:
            if f"#{number} " in message.body:
                counts[number] += 1
    return counts


def test_redis_down_webhooks_are_stored_and_paged_once_it_is_back(stack, alertmanager):
    stack.seed_policy([("primary", "sms", 0), ("secondary", "sms", 600)])
    primary, _ = stack.oncall()
    stack.redis.stop()
    try:
        alertmanager.post_alerts(alerts_named("RedisDown", 3))
        # Alertmanager got a 2xx for each group: our answer did not need Redis.
        wait_for(
            lambda: alertmanager.log().count("Notify success") >= 3,
            20,
            "three accepted webhooks",
        )
        assert "Notify attempt failed" not in alertmanager.log()
        # Each answer came after the webhook's attempt to hand the work on, and
        # with Redis down nothing else can pick it up: the database holds the
        # deliveries, unprocessed, and no incident.
        assert stack.unprocessed_deliveries("RedisDown") >= 3  # stored
        assert incidents_named(stack, "RedisDown") == []  # not processed
    finally:
        stack.redis.start()

    wait_for(
        lambda: len(incidents_named(stack, "RedisDown")) == 3,
        60,
        "the stored deliveries to be processed",
    )
    numbers = [i["id"] for i in incidents_named(stack, "RedisDown")]
    wait_for(
        lambda: len(sms_per_incident(stack, primary, numbers)) == 3,
        30,
        "a page per incident",
    )
    # A second sweep or redelivery would page again: wait until nothing is due,
    # queued, in flight or held by the worker, then count.
    stack.settle("the stored deliveries' pages to settle")
    assert sms_per_incident(stack, primary, numbers) == {n: 1 for n in numbers}


def test_a_killed_worker_loses_and_doubles_no_step(stack, alertmanager):
    step = 6
    stack.seed_policy([("primary", "sms", 0), ("secondary", "sms", step)])
    primary, secondary = stack.oncall()
    alertmanager.post_alerts(alerts_named("WorkerKill", 5))
    wait_for(
        lambda: len(incidents_named(stack, "WorkerKill")) == 5, 30, "five incidents"
    )
    numbers = [i["id"] for i in incidents_named(stack, "WorkerKill")]
    wait_for(
        lambda: len(sms_per_incident(stack, primary, numbers)) == 5,
        30,
        "the primary's pages",
    )

    stack.workers[0].kill()  # SIGKILL, mid-escalation: step 2 is still ahead
    # Step 2 falls due (its next_action_at passes) while no worker runs: no
    # sweep and no task can fire it.
    stack.settle("step 2 to fall due with no worker", timeout=step + 30, due=numbers)
    assert sms_per_incident(stack, secondary, numbers) == Counter()
    stack.start_worker()

    wait_for(
        lambda: len(sms_per_incident(stack, secondary, numbers)) == 5,
        60,
        "every due step to fire after the restart",
    )
    # Past every lease: anything claimed twice would show now.
    stack.settle("every lease to run out", leases=True)
    assert sms_per_incident(stack, primary, numbers) == {n: 1 for n in numbers}
    assert sms_per_incident(stack, secondary, numbers) == {n: 1 for n in numbers}


def test_twilio_failing_retries_then_falls_through_without_doubles(stack, alertmanager):
    stack.seed_policy([("primary", "sms", 0), ("secondary", "sms", 300)])
    primary, secondary = stack.oncall()
    twilio = stack.twilio
    rejected_before = len(twilio.rejected)
    twilio.fail_next(1, 500)
    twilio.fail_next(1, 429)
    twilio.stall_next(1, 5)  # longer than the transport's 3 s timeout
    started = time.monotonic()
    alertmanager.post_alerts(alerts_named("TwilioDown", 1))
    wait_for(lambda: incidents_named(stack, "TwilioDown"), 30, "the incident")
    [number] = [i["id"] for i in incidents_named(stack, "TwilioDown")]

    # Three attempts at the primary fail; the page falls through to the next
    # step long before its 300 s delay.
    wait_for(
        lambda: sms_per_incident(stack, secondary, [number]),
        60,
        "the fall-through to the secondary",
    )
    assert time.monotonic() - started < 120
    attempts = [r for r in twilio.rejected[rejected_before:] if r[2].get("To")]
    assert [r[2]["To"] for r in attempts] == [primary] * 3
    assert sms_per_incident(stack, primary, [number]) == Counter()
    stack.settle("the fall-through's pages to settle")
    assert sms_per_incident(stack, secondary, [number]) == {number: 1}
    timeline = str(stack.api("GET", f"/api/v1/incidents/{number}/timeline/").json())
    assert "failed" in timeline, timeline
