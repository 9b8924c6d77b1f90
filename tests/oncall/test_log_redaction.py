from __future__ import annotations

import logging

from oncall.log_redaction import RedactFeedTokens, redact


def test_it_redacts_feed_paths_in_access_log_lines():
    line = '127.0.0.1 - - "GET /ical/AbC-_x9.ics HTTP/1.1" 200 512 "-" "Google"'
    assert redact(line) == (
        '127.0.0.1 - - "GET /ical/[redacted].ics HTTP/1.1" 200 512 "-" "Google"'
    )
    assert redact("GET /api/v1/feeds/ 200") == "GET /api/v1/feeds/ 200"


def test_the_filter_rewrites_a_record_with_arguments():
    record = logging.LogRecord(
        "gunicorn.access",
        logging.INFO,
        __file__,
        1,
        "%(r)s %(s)s",
        ({"r": "GET /ical/secret.ics HTTP/1.1", "s": "404"},),
        None,
    )
    assert RedactFeedTokens().filter(record)
    assert record.getMessage() == "GET /ical/[redacted].ics HTTP/1.1 404"
