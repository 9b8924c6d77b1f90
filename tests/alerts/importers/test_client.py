"""The shared importer client's refusals quote the source's own words, in each
source's documented error shape, and stay clear when there are none."""

from __future__ import annotations

import httpx
import pytest

from alerts.importers.client import SourceClient, SourceError


def refusing(status: int, body: bytes) -> SourceClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body)

    return SourceClient(
        base_url="https://source.example",
        headers={},
        name="Source",
        transport=httpx.MockTransport(answer),
    )


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        # PagerDuty: {"error": {"message", "code"}}
        (
            403,
            b'{"error": {"message": "Access Denied", "code": 2010}}',
            "Source refused the token (403 on /users: Access Denied): check",
        ),
        # Opsgenie: {"message", "took", "requestId"}
        (
            401,
            b'{"message": "Key is disabled", "took": 0.0, "requestId": "r"}',
            "Source refused the token (401 on /users: Key is disabled): check",
        ),
        # A proxy's HTML page: nothing to quote.
        (
            401,
            b"<html>Unauthorized</html>",
            "Source refused the token (401 on /users): check",
        ),
    ],
)
def test_a_refusal_quotes_the_source(status, body, said):
    client = refusing(status, body)
    with pytest.raises(SourceError) as caught:
        client.get("/users")
    assert str(caught.value).startswith(said)


def test_a_long_message_is_cut_and_kept_on_one_line():
    client = refusing(403, b'{"message": "' + b"no\\n" * 200 + b'"}')
    with pytest.raises(SourceError) as caught:
        client.get("/users")
    quoted = str(caught.value).split("/users: ", 1)[1].split("): check", 1)[0]
    assert len(quoted) == 200 and "\n" not in quoted
