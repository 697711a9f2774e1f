"""The live market page, served by the venue on its own port beside the websocket API.

`process_request` is websockets' handshake hook: a request that asks for a websocket upgrade
goes on to the API untouched (None); any other GET is answered here, from the files shipped in
`exchange/web/static/` (read once, at import: a fixed set of names, so no path from a request
ever reaches the file system), or 404. The page is plain HTML, CSS and JavaScript with nothing
fetched from elsewhere (venues run on closed networks); it speaks the same websocket protocol as
every other client (docs/protocol.md), on the same host and port it was loaded from.
"""

from __future__ import annotations

import http
from importlib import resources

from websockets.asyncio.server import ServerConnection
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
    found = FILES.get(request.path.split("?", 1)[0])
    if found is None:
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
    body, content_type = found
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("Connection", "close"), *SECURITY_HEADERS])
    return Response(http.HTTPStatus.OK.value, http.HTTPStatus.OK.phrase, headers, body)
