"""How the CLIs reach the venue: one convention for where and as whom, and errors in words.

Both `exchange trade` and `exchange admin` take `--url` (default `$EXCHANGE_URL`, else
ws://127.0.0.1:8765) and `--key` (default `$EXCHANGE_KEY`). A URL that is not ws:// or wss://,
a venue that cannot be reached, and a connection the venue closes are each one line saying what
happened and what to do, never a traceback (`Unreachable`).
"""

from __future__ import annotations

import os
from typing import Any

from websockets.exceptions import InvalidHandshake, InvalidURI

from exchange.client import Client

DEFAULT_URL = "ws://127.0.0.1:8765"
URL_VARIABLE, KEY_VARIABLE = "EXCHANGE_URL", "EXCHANGE_KEY"

# RFC 6455 close codes, as a trader would want them said
CLOSE_CODES = {
    1000: "normal closure",
    1001: "the venue is going away (shutting down)",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code given",
    1006: "the connection was lost (no close frame)",
    1007: "invalid data (a text frame that is not UTF-8)",
    1008: "policy violation",
    1009: "message too big",
    1010: "missing extension",
    1011: "internal error at the venue",
    1012: "the venue is restarting",
    1013: "try again later",
}


class Unreachable(Exception):
    """The venue could not be reached, or it closed the connection: the message says why."""


def venue_url(given: str | None) -> str:
    return given or os.environ.get(URL_VARIABLE) or DEFAULT_URL


def api_key(given: str | None) -> str | None:
    return given or os.environ.get(KEY_VARIABLE) or None


def check_url(url: str) -> None:
    """Unreachable unless `url` is a websocket URL (http:// is the commonest slip)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("http", "https"):
        fixed = ("ws" if scheme == "http" else "wss") + url[len(scheme):]
        raise Unreachable(f"{url} is a web page address; the venue's API is at {fixed}")
    if scheme not in ("ws", "wss"):
        raise Unreachable(f"{url!r} is not a websocket URL (ws://host:port or wss://host:port)")


async def connect(url: str, encoding: str = "json", **options: Any) -> Client:
    """A connected Client, or Unreachable with the reason in words."""
    check_url(url)
    try:
        return await Client.connect(url, encoding=encoding, **options)
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Unreachable(f"cannot reach the venue at {url}: {reason}") from None


def describe_close(code: int | None, reason: str | None) -> str:
    """'the venue closed the connection: 1008 policy violation: "API key revoked"'."""
    if code is None:
        return "the connection to the venue was lost"
    words = CLOSE_CODES.get(code, "unknown close code")
    said = f' ("{reason}")' if reason else ""
    return f"the venue closed the connection: {code} {words}{said}"


def closed_reason(client: Client) -> str:
    """Why `client`'s connection ended, in words."""
    return describe_close(client.ws.close_code, client.ws.close_reason)
