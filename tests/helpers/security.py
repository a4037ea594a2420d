"""A foreign host for the attack scenarios: an HTTPS listener on loopback that records
every connection and Authorization header it gets."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme

from simlaunch import Emulator


@dataclass
class ForeignHost:
    """An HTTPS listener on loopback the operator trusts (its CA is in the operator's
    bundle), so a token sent here would really arrive: ``connections`` counts every TCP
    connection, ``authorizations`` every Authorization header received."""

    port: int
    ca_bundle: str
    connections: int = 0
    authorizations: list[str] = field(default_factory=list)

    @property
    def contacted(self) -> bool:
        return self.connections > 0


def _server(host: ForeignHost, ctx: ssl.SSLContext) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host.authorizations.append(self.headers.get("Authorization") or "")
            body = json.dumps({"value": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def get_request(self) -> tuple[socket.socket, Any]:
            sock, addr = self.socket.accept()
            host.connections += 1  # counted before TLS: any attempt at all shows
            return ctx.wrap_socket(sock, server_side=True), addr

    return Server(("127.0.0.1", 0), Handler)


@pytest.fixture
def foreign_host(tmp_path: Path, azuresim: Emulator) -> Iterator[ForeignHost]:
    ca = trustme.CA(organization_name="foreign")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text(Path(azuresim.ca_bundle).read_text() + ca.cert_pem.bytes().decode())
    host = ForeignHost(0, str(bundle))
    server = _server(host, ctx)
    host.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
