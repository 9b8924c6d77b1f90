"""The figures' definitions in a sentence each: the API answers carry them and the
insights page prints them in its footer (the README says the same, at length)."""

from __future__ import annotations

PAGE_LOAD_DEFINITIONS = {
    "pages": "interruptions: one SMS or call that went out, at the instant it was "
    "sent; the same page over several channels once; a storm bundle once per "
    "delivery",
    "incidents": "distinct incidents the member was paged about",
    "acknowledged": "of those, the ones the member acknowledged",
    "escalated_past": "pages after which the policy paged somebody else before "
    "anyone acknowledged",
    "sleep_interruptions": "pages in the member's sleep hours, in their own zone",
    "tta_median_seconds": "first page to the member's acknowledgement (median)",
    "oncall_hours": "hours as primary plus secondary, from the effective schedule",
    "weeks": "on-call weeks: the member's stretch on call, handoff to handoff "
    "(effective schedule, team's zone; cut at 7 days); pages outside them in "
    "off-rota weeks, Monday 00:00 to Monday 00:00 in the team's zone",
}
INCIDENT_DEFINITIONS = {
    "mtta_seconds": "the (re)opening the acknowledgement answered to the "
    "acknowledgement, over acknowledged incidents (a reopen restarts the clock)",
    "mttr_seconds": "the (re)opening the resolution closed to the resolution, "
    "over resolved incidents",
    "mtbf_seconds": "per service, the gaps between consecutive first openings: "
    "mean (last - first) / (openings - 1), median and p90 over the gaps",
    "median, p90": "continuous percentiles (PostgreSQL percentile_cont)",
    "period": "incidents opened in [from, to)",
}
ALERT_QUALITY_DEFINITIONS = {
    "pages": "interruptions the incidents caused (pages sent in bundles each count)",
    "auto_resolved": "resolved before anyone acknowledged them",
    "flapping": "fired again within the flap window after resolving (a new "
    "incident of the group, or a reopen)",
    "sleep_share": "share of the pages in the paged member's sleep hours",
    "period": "incidents opened in [from, to)",
}
