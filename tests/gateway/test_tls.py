"""wss://: the server with a certificate and key (`serve --cert/--key`) speaks TLS only; a client
that trusts the certificate trades over it, and the operator CLI does too (SSL_CERT_FILE)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from exchange.cli.main import main
from exchange.client import Client
from tests.gateway.conftest import WHEAT, open_venue, with_config

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


async def test_a_tls_venue_trades_over_wss_and_refuses_plain_websockets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate(tmp_path)
    config = with_config(certfile=str(cert), keyfile=str(key))
    async with open_venue(tmp_path / "l.db", config) as venue:
        assert venue.url.startswith("wss://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(cert))
        client = await Client.connect(venue.url, ssl=trusting)
        venue.clients.append(client)
        await client.logon(venue.keys["AGRO-1"])
        placed = await client.new_order(WHEAT, "BUY", "2", "209.00")
        assert placed["ord_status"] == "NEW"
        with pytest.raises(ssl.SSLCertVerificationError):  # a stranger's certificate
            await Client.connect(venue.url, ssl=ssl.create_default_context())
        plain = venue.url.replace("wss://", "ws://")
        with pytest.raises(Exception):  # noqa: B017 - the handshake fails, however it says so
            await asyncio.wait_for(Client.connect(plain), 5)
        out, err = io.StringIO(), io.StringIO()

        def admin() -> int:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                return main(["admin", "--url", venue.url, "--key", venue.keys["operator"],
                             "--json", "book", WHEAT])
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # how the CLIs trust a private CA
        assert await asyncio.to_thread(admin) == 0, err.getvalue()
        assert "209.00" in out.getvalue()
