"""The webhook token in a URL path never reaches a log line: not Django's
warnings, not our own messages, not gunicorn's access log."""

from __future__ import annotations

import io
import logging
import subprocess
import urllib.error
import urllib.request

import pytest

from oncall.log_redaction import REDACTED, RedactingFilter, redact
from tests.processes import (
    REPO,
    WEB_SERVER_COMMANDS,
    django_env,
    free_port,
    port_open,
    stop,
    wait_until,
)

SECRET = "s3cr3t-path-token-0123456789abcdef"


def test_redact_removes_path_tokens_and_credentials():
    assert redact(f"POST /api/v1/alertmanager/{SECRET}/ HTTP/1.1") == (
        f"POST /api/v1/alertmanager/{REDACTED}/ HTTP/1.1"
    )
    assert SECRET not in redact(f"GET /ical/{SECRET}.ics")
    assert SECRET not in redact(f"Authorization: Bearer {SECRET}")
    assert redact("GET /api/v1/teams/payments/oncall/") == (
        "GET /api/v1/teams/payments/oncall/"
    )


@pytest.fixture
def root_output():
    """What the root logger's handlers (the ones settings.LOGGING configures)
    write, captured."""
    root = logging.getLogger()
    handlers = [
        h
        for h in root.handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING puts RedactingFilter on the root handler"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


@pytest.mark.django_db
def test_a_token_in_the_webhook_path_is_redacted_from_djangos_warnings(
    client, root_output
):
    response = client.post(
        f"/api/v1/alertmanager/{SECRET}/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404  # unknown token: Django logs "Not Found"
    logging.getLogger("oncall.test").warning(
        "webhook %s failed", f"/api/v1/alertmanager/{SECRET}/"
    )
    try:
        raise ValueError(f"bad /api/v1/alertmanager/{SECRET}/")
    except ValueError:
        logging.getLogger("oncall.test").exception("with a traceback")
    output = root_output.getvalue()
    assert "Not Found: /api/v1/alertmanager/" in output
    assert output.count(REDACTED) >= 3
    assert SECRET not in output


@pytest.mark.parametrize("server", WEB_SERVER_COMMANDS)
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_servers_access_log_redacts_the_path_token(tmp_path, server, log_format):
    port = free_port()
    env = django_env(
        DEBUG="1",
        ONCALL_DATA_DIR=str(tmp_path),
        LOG_FORMAT=log_format,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
    )
    log = (tmp_path / "server.log").open("w+")
    proc = subprocess.Popen(
        WEB_SERVER_COMMANDS[server],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: port_open(port), 60, f"{server} to listen")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/alertmanager/{SECRET}/?token={SECRET}",
            data=b"{}",
            headers={"Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(request, timeout=30)
        except urllib.error.HTTPError as exc:
            status = exc.code
        else:
            status = 200
        assert status >= 400  # no such token (and no tables: this is about logs)

        def logged() -> bool:
            log.flush()
            lines = (tmp_path / "server.log").read_text().splitlines()
            # The access line (the server writes it after Django's own lines).
            return any(
                f"/api/v1/alertmanager/{REDACTED}/" in line and "HTTP/1.1" in line
                for line in lines
            )

        wait_until(logged, 30, "the access log line")
    finally:
        stop(proc)
        log.close()
    output = (tmp_path / "server.log").read_text()
    assert f"/api/v1/alertmanager/{REDACTED}/" in output
    assert SECRET not in output


def test_extra_fields_are_redacted_in_json_lines():
    """Django's request logger passes the request as ``extra``; the JSON formatter
    writes it as a field, path and query included."""
    from pythonjsonlogger.json import JsonFormatter

    class Request:
        def __str__(self) -> str:
            return f"<WSGIRequest: POST '/api/v1/alertmanager/{SECRET}/'>"

    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Service Unavailable", (), None
    )
    record.request = Request()
    record.status_code = 503
    record.note = f"see /ical/{SECRET}.ics"
    assert RedactingFilter().filter(record)
    line = JsonFormatter("%(levelname)s %(name)s %(message)s").format(record)
    assert SECRET not in line
    assert f"/api/v1/alertmanager/{REDACTED}/" in line
    assert '"status_code": 503' in line


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
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "GET /ical/[redacted].ics HTTP/1.1 404"


def test_it_redacts_handoff_links_in_paths_and_sms_lines():
    line = '127.0.0.1 - - "GET /handoffs/link/IkFp:1xY:hlDt_x-9/ HTTP/1.1" 302 0'
    assert redact(line) == (
        '127.0.0.1 - - "GET /handoffs/link/[redacted]/ HTTP/1.1" 302 0'
    )
    sms = "SMS to +254700000001: read it at http://h/handoffs/link/IkFp:1xY:hl/"
    assert "IkFp" not in redact(sms)
    assert redact("GET /handoffs/42/ 200") == "GET /handoffs/42/ 200"


def test_the_access_line_is_redacted_and_quoted_as_gunicorn_quotes_it():
    """RedactingAtoms redacts the atoms the format reads, when it reads them:
    the same line as redacting every atom first, then gunicorn's quoting."""
    import datetime as dt

    from gunicorn.config import Config

    from oncall.log_redaction import RedactingAtoms, RedactingGunicornLogger

    class Response:
        status = "200 OK"
        sent = 42
        headers = [("Content-Type", "text/calendar")]

    path = f"/ical/{SECRET}.ics"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path + "?token=" + SECRET,
        "PATH_INFO": path,
        "QUERY_STRING": "token=" + SECRET,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_REFERER": f'https://example.com/ical/{SECRET}"x.ics',
        "HTTP_USER_AGENT": 'Calendar "Importer"',
    }
    request_headers = [("REFERER", environ["HTTP_REFERER"]), ("USER-AGENT", "x")]
    cfg = Config()
    cfg.set("access_log_format", '%(r)s %(U)s "%(f)s" "%(a)s" %({referer}i)s')
    logger = RedactingGunicornLogger(cfg)
    atoms = RedactingAtoms(
        logger.atoms(Response, request_headers, environ, dt.timedelta(seconds=1))
    )
    line = cfg.access_log_format % atoms
    assert SECRET not in line
    assert line == (
        f"GET /ical/{REDACTED}.ics?token={REDACTED} HTTP/1.1 /ical/{REDACTED}.ics "
        f'"https://example.com/ical/{REDACTED}\\"x.ics" "Calendar \\"Importer\\"" '
        f'https://example.com/ical/{REDACTED}\\"x.ics'
    )


def _access_line(logger_class: type, environ: dict, headers: list) -> tuple[str, list]:
    """The access log line a gunicorn logger writes for one request, and the
    arguments its record carried."""
    import datetime

    from gunicorn.config import Config

    config = Config()
    config.set("accesslog", "-")
    log = logger_class(config)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log.access_log.handlers = [Keep()]

    class Response:
        status = "202 Accepted"
        sent = 40
        headers = [("Content-Type", "application/json")]

    class Request:
        pass

    Request.headers = headers  # type: ignore[attr-defined]
    log.access(Response, Request, environ, datetime.timedelta(microseconds=3000))
    (record,) = records
    return record.getMessage(), [record.args]


def test_the_access_log_line_is_gunicorns_with_only_the_secrets_redacted():
    from gunicorn.glogging import Logger

    from oncall.log_redaction import RedactingGunicornLogger

    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/api/v1/alertmanager/{SECRET}/?token={SECRET}",
        "PATH_INFO": f"/api/v1/alertmanager/{SECRET}/",
        "QUERY_STRING": f"token={SECRET}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "HTTP_USER_AGENT": "Alertmanager/0.25.0",
        "HTTP_REFERER": f"https://example.com/?token={SECRET}",
        "HTTP_AUTHORIZATION": f"Bearer {SECRET}",
    }
    headers = [("AUTHORIZATION", f"Bearer {SECRET}"), ("USER-AGENT", "Alertmanager")]
    plain, _ = _access_line(Logger, environ, headers)
    line, args = _access_line(RedactingGunicornLogger, environ, headers)

    assert SECRET in plain  # the test would prove nothing otherwise
    assert line == redact(plain)
    assert f"/api/v1/alertmanager/{REDACTED}/?token={REDACTED}" in line
    assert f'"https://example.com/?token={REDACTED}"' in line
    # The record holds the finished line, not a dict of atoms a handler could
    # print unredacted (the atoms include every header, the Authorization too).
    assert SECRET not in repr(args)


def test_a_custom_access_log_format_gets_redacted_atoms_too():
    from oncall.log_redaction import RedactingGunicornLogger

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/ical/{SECRET}.ics",
        "PATH_INFO": f"/ical/{SECRET}.ics",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_AUTHORIZATION": f"Bearer {SECRET}",
    }

    class Formatted(RedactingGunicornLogger):
        def __init__(self, cfg):
            cfg.set("access_log_format", "%(U)s %({authorization}i)s %(m)s %(x)s")
            super().__init__(cfg)

    line, _ = _access_line(Formatted, environ, [("AUTHORIZATION", f"Bearer {SECRET}")])
    assert line == f"/ical/{REDACTED}.ics Bearer {REDACTED} GET -"


@pytest.mark.parametrize(
    "text",
    [
        "nothing secret here",
        "GET /API/V1/ALERTMANAGER/abc/",  # paths are case-sensitive: kept
        "BEARER abc",
        "Basic   abc",
        "x?Token=abc&key=def",
        "/handoffs/link/abc/ and /ical/abc.ics",
    ],
)
def test_the_quick_check_never_skips_what_a_pattern_would_redact(text):
    from oncall.log_redaction import _PATTERNS

    slow = text
    for pattern in _PATTERNS:
        slow = pattern.sub(rf"\1{REDACTED}", slow)
    assert redact(text) == slow
