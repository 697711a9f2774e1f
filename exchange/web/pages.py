"""The live market page, served by the venue on its API port, and on a port of its own too
with `exchange serve --http-port N` (`serve_page`).

`process_request` is websockets' handshake hook: a request that asks for a websocket upgrade
goes on to the API untouched (None); any other GET is answered here, from the files shipped in
`exchange/web/static/` (read once, at import: a fixed set of names, so no path from a request
ever reaches the file system), or 404. The page is plain HTML, CSS and JavaScript with nothing
fetched from elsewhere (venues run on closed networks); it speaks the same websocket protocol as
every other client (docs/protocol.md), on the same host and port it was loaded from, or, when
it comes from the page's own port, on the API port that its index.html names
(`exchange-api-port`); that port's Content-Security-Policy allows exactly that websocket.
"""

from __future__ import annotations

import http
import re
import ssl
from collections.abc import Callable
from importlib import resources

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
# the page may talk only to where it came from; no inline scripts, no frames
SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)


def _load() -> dict[str, tuple[bytes, str]]:
    """Every shipped file by its URL path ("/" is index.html): (body, content type)."""
    files: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files["/" + entry.name] = (entry.read_bytes(), CONTENT_TYPES[suffix])
    files["/"] = files["/index.html"]
    return files


FILES = _load()


def _wants_websocket(request: Request) -> bool:
    return "websocket" in request.headers.get("Upgrade", "").lower()


def process_request(connection: ServerConnection, request: Request) -> Response | None:
    """None for a websocket handshake (the API); the page's file, or 404, for anything else."""
    if _wants_websocket(request):
        return None
    return _file(connection, request, FILES, SECURITY_HEADERS)


def _file(connection: ServerConnection, request: Request, files: dict[str, tuple[bytes, str]],
          security: tuple[tuple[str, str], ...]) -> Response:
    found = files.get(request.path.split("?", 1)[0])
    if found is None:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
    body, content_type = found
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Connection", "close"), *security])
    return Response(http.HTTPStatus.OK.value, http.HTTPStatus.OK.phrase, headers, body)


_API_PORT_META = b'<meta name="exchange-api-port" content="">'
_HOSTNAME = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+", re.ASCII)


def page_only(api_port: int, secure: bool) -> Callable[[ServerConnection, Request], Response]:
    """The handshake hook of a port that serves only the page: the same files, its index.html
    naming the API's port, a policy that lets the page open a websocket to that port of the
    host it was loaded from (and nothing else), and a websocket upgrade refused (400) with
    where the API is. O(1) a request."""
    index = FILES["/"][0].replace(
        _API_PORT_META, f'<meta name="exchange-api-port" content="{api_port}">'.encode())
    files = {**FILES, "/": (index, FILES["/"][1]), "/index.html": (index, FILES["/"][1])}
    scheme = "wss" if secure else "ws"

    def answer(connection: ServerConnection, request: Request) -> Response:
        if _wants_websocket(request):
            return connection.respond(http.HTTPStatus.BAD_REQUEST,
                                      f"the websocket API is on port {api_port}\n")
        host = request.headers.get("Host", "")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        policy = SECURITY_HEADERS[0][1]
        if _HOSTNAME.fullmatch(hostname):  # the page talks to the API on the host it came from
            policy += f"; connect-src 'self' {scheme}://{hostname}:{api_port}"
        return _file(connection, request, files, (("Content-Security-Policy", policy),
                                                  *SECURITY_HEADERS[1:]))
    return answer


async def serve_page(host: str, port: int, api_port: int,
                     ssl_context: ssl.SSLContext | None = None) -> Server:
    """Serve the page on `host:port` (0: any free port) beside the API on `api_port`; every
    request is answered by `page_only`, so no websocket connection is ever made here."""
    async def never(connection: ServerConnection) -> None:  # every handshake is answered above
        await connection.close(1008, f"the websocket API is on port {api_port}")
    return await serve(never, host, port, ssl=ssl_context,
                       process_request=page_only(api_port, ssl_context is not None))
