"""The market page's HTTP side, without a browser: the venue's websocket port also answers plain
GETs with the shipped files (and nothing else), and still speaks the API to websocket clients."""

from __future__ import annotations

import asyncio
from pathlib import Path

from exchange.web import pages
from tests.gateway.conftest import open_venue


async def http_get(url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("ws://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()  # the venue closes after each page response
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status.split()[1]), headers, body


async def test_the_page_and_its_files_are_served_on_the_api_port(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        status, headers, body = await http_get(venue.url, "/")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b'<script src="/app.js"' in body and int(headers["Content-Length"]) == len(body)
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        status, headers, body = await http_get(venue.url, "/app.js?v=1")
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
        assert b'const SUBPROTOCOL = "exchange.json.v1"' in body
        for path in ("/nope", "/../pyproject.toml", "/static/app.js", "/%2e%2e/README.md"):
            assert (await http_get(venue.url, path))[0] == 404, path
        client = await venue.client("AGRO-1")  # the API on the same port, as before
        assert "WHEAT-M2-CTA-2703" in await client.instruments()


def test_the_page_ships_in_the_package_and_fetches_nothing_from_elsewhere() -> None:
    assert {"/", "/index.html", "/app.js", "/style.css"} <= set(pages.FILES)
    for path, (body, _) in pages.FILES.items():
        text = body.decode()
        assert "http://" not in text and "https://" not in text, path  # no CDN, no fonts
        assert "<script>" not in text, path  # no inline script (the page's CSP forbids it)
