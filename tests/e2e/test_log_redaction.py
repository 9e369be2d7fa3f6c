"""Query strings never reach the server log (issue 20, point 8): a token wrongly put in a websocket URL, or any
query string of an HTTP request, appears in no line a real ``modelreg serve`` writes, uvicorn's included."""

from __future__ import annotations

import logging

import httpx
import pytest

from app import logs
from tests.support.subscriptions import Refused, Subscriber

pytestmark = pytest.mark.e2e

SECRET = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.s1gnature-SECRET"


async def test_a_token_in_a_websocket_url_is_not_logged(live_server):
    for query in (f"token={SECRET}", f"access_token={SECRET}&x=1", f"authorization=Bearer%20{SECRET}", SECRET):
        try:
            subscriber = await Subscriber.connect(live_server.url, query=query, init=False)
            await subscriber.ws.close()
        except Refused:
            pass
    httpx.get(f"{live_server.url}/healthz", params={"token": SECRET, "q": "other"})
    live_server.wait_for_log('"WebSocket /graphql?')
    assert "SECRET" not in live_server.log()
    assert "eyJhbGciOiJSUzI1NiJ9" not in live_server.log()
    assert '"WebSocket /graphql?token=***' in live_server.log()


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('1.2.3.4:5 - "WebSocket /graphql?token=abc&x=1" 403', '1.2.3.4:5 - "WebSocket /graphql?token=***&x=***" 403'),
        ("GET https://h.example/p?access_token=abc;b=2 done", "GET https://h.example/p?access_token=***;b=*** done"),
        ("/graphql?abc", "/graphql?***"),
        ("is it? yes", "is it? yes"),
        ("no query here", "no query here"),
    ],
)
def test_query_string_values_are_masked(text, expected):
    assert logs.redact_query_strings(text) == expected


@pytest.mark.backend_independent
def test_the_formatter_masks_the_message_and_every_text_field():
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:1", f"/graphql?token={SECRET}"), None)
    record.url = f"http://h/x?sig={SECRET}"
    line = logs.JsonFormatter().format(record)
    assert SECRET not in line and "/graphql?token=***" in line and "http://h/x?sig=***" in line
