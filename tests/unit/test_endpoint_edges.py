"""The data-plane token's destinations at their edges: schemes sorting either side of
https, lower ports, scheme-less URLs, the default ports of a nextLink's origin, and the
quoting bound of a hostile URL in messages."""

from __future__ import annotations

import json

import pytest

from batch_image_operator.models.endpoints import (
    UntrustedEndpoint,
    check_same_origin,
    check_trusted,
)

SUFFIX = "batch.azure.com"
ACCOUNT = "https://acct.westeurope.batch.azure.com"


@pytest.mark.parametrize("url", [
    "http://acct.westeurope.batch.azure.com",     # sorts before https
    "wss://acct.westeurope.batch.azure.com",      # sorts after https
    "https://acct.westeurope.batch.azure.com:80",  # a lower port than the suffix's 443
    "//acct.westeurope.batch.azure.com/pools",    # no scheme at all
    "http://acct.westeurope.batch.azure.com:443",  # not https, even on 443
    "wss://acct.westeurope.batch.azure.com:443",
])
def test_only_https_on_the_suffix_port_is_trusted(url: str) -> None:
    with pytest.raises(UntrustedEndpoint):
        check_trusted(url, SUFFIX)


def test_a_scheme_read_from_json_is_trusted() -> None:
    check_trusted(json.loads(json.dumps(ACCOUNT + "/pools")), SUFFIX)


def test_a_next_link_spelling_out_the_default_port_stays_on_the_origin() -> None:
    check_same_origin(ACCOUNT + ":443/pools?$skiptoken=x", ACCOUNT)
    # Only https has a default port: elsewhere a port spelled out is another origin,
    # whichever way the scheme sorts against "https".
    with pytest.raises(UntrustedEndpoint):  # scheme-less links have no origin to share
        check_same_origin("//h/x", "//h/y")
    for url, base in [("http://h:1/x", "http://h/y"), ("ftp://h:443/x", "ftp://h/y"),
                      ("wss://h:443/x", "wss://h/y")]:
        with pytest.raises(UntrustedEndpoint):
            check_same_origin(url, base)


def quoted(url: str) -> str:
    with pytest.raises(UntrustedEndpoint) as err:
        check_trusted(url, SUFFIX)
    return str(err.value)


def test_a_hostile_url_is_quoted_whole_up_to_200_characters_then_cut() -> None:
    exact = "https://evil.example/" + "a" * 179
    assert len(exact) == 200 and repr(exact) in quoted(exact)
    longer = exact + "b"
    assert repr(exact + "...") in quoted(longer)
    short = "https://evil.example/" + "a" * 178
    assert repr(short) in quoted(short)
