"""Where the Batch data-plane bearer token may go. Pure: no I/O.

The token is sent to an account's ``accountEndpoint`` and to every ``odata.nextLink``
its list answers name. Both come from Azure's replies, so both are checked against the
configured cloud's Batch endpoint suffix (AZURE_BATCH_ENDPOINT_SUFFIX) before any
request is built: a foreign host never sees a connection, let alone the token.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

HTTPS_PORT = 443


class UntrustedEndpoint(ValueError):
    """A data-plane URL outside the configured Batch endpoint suffix; str() is safe to show."""


def _split_suffix(suffix: str) -> tuple[str, int]:
    host, _, port = suffix.partition(":")
    return host, int(port) if port else HTTPS_PORT


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_under(host: str, suffix_host: str) -> bool:
    """``host`` is the suffix or a DNS name below it; an IP address only matches itself."""
    host, suffix_host = host.lower().rstrip("."), suffix_host.lower()
    if host == suffix_host:
        return True
    return not _is_ip(suffix_host) and host.endswith("." + suffix_host)


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute URL; raises UntrustedEndpoint if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UntrustedEndpoint(f"malformed data-plane URL {_shown(url)}") from exc
    if not parts.scheme or not parts.hostname or parts.username or parts.password:
        raise UntrustedEndpoint(f"data-plane URL {_shown(url)} is not a plain absolute URL")
    default = HTTPS_PORT if parts.scheme.lower() == "https" else 0
    return parts.scheme.lower(), parts.hostname.lower(), port or default


def check_trusted(url: str, suffix: str) -> None:
    """``url`` is https, on a host under ``suffix`` and on the suffix's port (443)."""
    scheme, host, port = origin(url)
    suffix_host, suffix_port = _split_suffix(suffix)
    if scheme != "https" or not host_under(host, suffix_host) or port != suffix_port:
        raise UntrustedEndpoint(
            f"Batch data-plane URL {_shown(url)} is not an https URL under the configured Batch "
            f"endpoint suffix {suffix} (AZURE_BATCH_ENDPOINT_SUFFIX); no request was sent")


def account_url(endpoint: str, suffix: str) -> str:
    """The https URL of an account's data plane (Batch reports ``host[:port][/path]``)."""
    url = f"https://{endpoint}"
    check_trusted(url, suffix)
    return url


def check_same_origin(url: str, base: str, what: str = "odata.nextLink") -> None:
    """``url`` (a page's nextLink, a redirect) stays on the scheme, host and port of
    ``base``, the account endpoint the client was made for."""
    if origin(url) != origin(base):
        raise UntrustedEndpoint(
            f"{what} {_shown(url)} leaves the account endpoint {_shown(base)}; not sent")


def _shown(url: str) -> str:
    """URLs come from Azure's replies: quoted, and cut short for status and events."""
    return repr(url if len(url) <= 200 else url[:200] + "...")
