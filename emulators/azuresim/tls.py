"""Loopback TLS: the Azure SDKs refuse bearer tokens over plain HTTP."""

from __future__ import annotations

import ssl
from pathlib import Path

import trustme

from .store import write_atomic


def server_context(ca_path: Path) -> ssl.SSLContext:
    """A fresh CA (written to ``ca_path`` for clients) and a server context it signs."""
    ca = trustme.CA(organization_name="azuresim")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    write_atomic(ca_path, ca.cert_pem.bytes().decode())
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx
