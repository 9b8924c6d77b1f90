"""Insights: page load per member, on-call hours, incident figures, alert quality.

Services-level reads over ``Page``, ``PageBundle`` and ``Incident`` (and the one
effective-schedule resolver for time on call).  The aggregation runs in SQL: each
report is a fixed number of queries whatever the number of pages or incidents
(``sql.py`` holds the expressions they share).  The API (``alerts/api/reports.py``)
only parses input, checks access and renders what these return.
"""
