"""scheduling.safe_http refuses what a member's URL must not reach -- before any
connection is made (nothing here opens a socket)."""

from __future__ import annotations

import pytest

from scheduling.safe_http import FetchError, Limits, fetch, parse_networks

LIMITS = Limits(connect_timeout=1, read_timeout=1, deadline=2, max_bytes=1000)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/pto.ics",
        "http://10.0.0.1/pto.ics",
        "http://172.16.5.4/pto.ics",
        "http://192.168.1.1/pto.ics",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/pto.ics",
        "http://0.0.0.0/pto.ics",
        "http://[::1]/pto.ics",
        "http://[fe80::1]/pto.ics",
        "http://[fd00::1]/pto.ics",
        "http://[::ffff:10.0.0.1]/pto.ics",
        "http://224.0.0.1/pto.ics",
    ],
)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(FetchError, match="refused to connect"):
        fetch(url, etag="", limits=LIMITS, user_agent="t")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/pto.ics", "file:///etc/passwd", "gopher://x/"]
)
def test_only_http_and_https(url):
    with pytest.raises(FetchError, match="only http and https"):
        fetch(url, etag="", limits=LIMITS, user_agent="t")


@pytest.mark.parametrize(
    "url", ["", "http://", "http://exa mple.com/", "http://a_b.example/", "http://%00/"]
)
def test_a_url_that_is_no_url_is_refused_before_any_lookup(url, monkeypatch):
    asked = []
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: asked.append(a))
    with pytest.raises(FetchError):
        fetch(url, etag="", limits=LIMITS, user_agent="t")
    assert asked == []


def test_allowed_networks_are_parsed_as_cidrs():
    assert [str(n) for n in parse_networks(["127.0.0.0/8", " ::1 ", ""])] == [
        "127.0.0.0/8",
        "::1/128",
    ]


def test_a_name_is_refused_if_any_of_its_addresses_is_private(monkeypatch):
    import socket

    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80)),
    ]
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(FetchError, match=r"refused to connect to 10\.0\.0\.5"):
        fetch("http://pto.example.com/x.ics", etag="", limits=LIMITS, user_agent="t")
