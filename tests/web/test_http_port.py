"""`exchange serve --http-port N`: the market page on a port of its own as well as on the API
port. Its index.html names the API port, its policy allows a websocket to exactly that port of
the host the page came from, and it refuses websocket handshakes (the API is elsewhere)."""

from __future__ import annotations

import re
import shutil
import ssl
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from exchange.web import pages
from tests.admin.test_run_lines import serve_demo, stop
from tests.gateway.conftest import open_venue
from tests.web.test_pages import http_get


async def test_the_page_port_serves_the_page_pointing_at_the_api_port(tmp_path: Path) -> None:
    async with open_venue(tmp_path / "l.db") as venue:
        api_port = venue.server.port
        page = await pages.serve_page("127.0.0.1", 0, api_port)
        try:
            page_url = f"ws://127.0.0.1:{page.sockets[0].getsockname()[1]}"
            status, headers, body = await http_get(page_url, "/")
            assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
            assert f'<meta name="exchange-api-port" content="{api_port}">'.encode() in body
            assert int(headers["Content-Length"]) == len(body)
            assert headers["Content-Security-Policy"].endswith(
                f"; connect-src 'self' ws://127.0.0.1:{api_port}")
            assert (await http_get(page_url, "/index.html"))[2] == body
            status, headers, script = await http_get(page_url, "/app.js")
            assert status == 200 and script == pages.FILES["/app.js"][0]
            assert (await http_get(page_url, "/nope"))[0] == 404
            with pytest.raises(InvalidStatus) as refused:
                async with connect(page_url):
                    pass
            assert refused.value.response.status_code == 400
            assert refused.value.response.body == f"the websocket API is on port {api_port}\n".encode()
            # the API port's own page still talks to where it came from
            _, _, own = await http_get(venue.url, "/")
            assert b'<meta name="exchange-api-port" content="">' in own
        finally:
            page.close()
            await page.wait_closed()


def test_serve_with_http_port_prints_and_serves_the_page(tmp_path: Path) -> None:
    venue, printed = serve_demo(tmp_path / "v.db", "--http-port", "0")
    try:
        found = re.search(r"market page: (http://127\.0\.0\.1:(\d+)/)  \(and on the API port\)",
                          "\n".join(printed))
        assert found, printed
        api = re.search(r"listening on ws://127\.0\.0\.1:(\d+)", "\n".join(printed))
        assert api and api.group(1) != found.group(2)
        with urllib.request.urlopen(found.group(1), timeout=10) as answer:
            body = answer.read()
        assert f'content="{api.group(1)}"'.encode() in body
    finally:
        stop(venue)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_under_tls_the_page_port_speaks_https_and_allows_wss(tmp_path: Path) -> None:
    from tests.gateway.test_tls import certificate

    cert, key = certificate(tmp_path)
    venue, printed = serve_demo(tmp_path / "v.db", "--http-port", "0", "--cert", str(cert),
                                "--key", str(key))
    try:
        text = "\n".join(printed)
        page = re.search(r"market page: (https://127\.0\.0\.1:\d+/)", text)
        api = re.search(r"listening on wss://127\.0\.0\.1:(\d+)", text)
        assert page and api, printed
        trusting = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(page.group(1), timeout=10, context=trusting) as answer:
            policy = answer.headers["Content-Security-Policy"]
            body = answer.read()
        assert policy.endswith(f"; connect-src 'self' wss://127.0.0.1:{api.group(1)}")
        assert f'content="{api.group(1)}"'.encode() in body
    finally:
        stop(venue)
