"""Where the Batch data-plane token may go: only under the configured cloud's suffix."""

import pytest

from batch_image_operator.models.endpoints import (
    UntrustedEndpoint,
    account_url,
    check_same_origin,
)

PUBLIC = "batch.azure.com"


@pytest.mark.parametrize(("endpoint", "suffix"), [
    ("acct.westeurope.batch.azure.com", PUBLIC),
    ("ACCT.WestEurope.Batch.Azure.com", PUBLIC),
    ("acct.usgovvirginia.batch.usgovcloudapi.net", "batch.usgovcloudapi.net"),
    ("127.0.0.1:8443/batch/sub/rg/acct", "127.0.0.1:8443"),
    ("acct.region.batch.azure.com:443", PUBLIC),
])
def test_account_endpoints_under_the_suffix_are_trusted(endpoint, suffix):
    assert account_url(endpoint, suffix) == f"https://{endpoint}"


@pytest.mark.parametrize(("endpoint", "suffix"), [
    ("attacker.example", PUBLIC),
    ("acct.westeurope.batch.azure.com.attacker.example", PUBLIC),
    ("evilbatch.azure.com", PUBLIC),                          # a suffix, not a label boundary
    ("acct.westeurope.batch.azure.com:8443", PUBLIC),           # another port
    ("acct.batch.usgovcloudapi.net", PUBLIC),                   # another cloud
    ("127.0.0.1:9999/batch/sub/rg/acct", "127.0.0.1:8443"),    # the emulator's host, not port
    ("localhost:8443/batch", "127.0.0.1:8443"),
    ("1.127.0.0.1:8443", "127.0.0.1:8443"),                    # an IP suffix matches itself only
    ("user@acct.westeurope.batch.azure.com", PUBLIC),
])
def test_account_endpoints_elsewhere_are_refused(endpoint, suffix):
    with pytest.raises(UntrustedEndpoint, match=r"(AZURE_BATCH_ENDPOINT_SUFFIX|plain absolute)"):
        account_url(endpoint, suffix)


BASE = "https://acct.westeurope.batch.azure.com"


def test_a_next_link_on_the_same_origin_is_followed():
    check_same_origin(f"{BASE}/nodecounts?$skiptoken=2&api-version=x", BASE)
    check_same_origin("https://ACCT.westeurope.batch.azure.com:443/nodecounts", BASE)


@pytest.mark.parametrize("link", [
    "https://attacker.example/nodecounts",
    "http://acct.westeurope.batch.azure.com/nodecounts",        # another scheme
    "https://acct.westeurope.batch.azure.com:8443/nodecounts",  # another port
    "https://other.westeurope.batch.azure.com/nodecounts",      # another account, same suffix
    "//attacker.example/nodecounts",
    "/nodecounts",
    "https://acct.westeurope.batch.azure.com@attacker.example/nodecounts",
    "https://[::1/x",
])
def test_a_next_link_elsewhere_is_refused(link):
    with pytest.raises(UntrustedEndpoint):
        check_same_origin(link, BASE)


def test_a_huge_hostile_url_is_cut_short_in_the_message():
    with pytest.raises(UntrustedEndpoint) as err:
        check_same_origin("https://attacker.example/" + "x" * 10_000, BASE)
    assert len(str(err.value)) < 600


class CountingCredential:
    """Counts token requests: the guard must stop a request before one is made."""

    def __init__(self) -> None:
        self.tokens = 0

    async def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        self.tokens += 1
        return AccessToken("token", 2**31)

    async def close(self) -> None:
        pass


async def test_the_data_plane_client_checks_every_request_before_its_token():
    from azure.core.rest import HttpRequest

    from batch_image_operator.azure.clients import AzureClients
    from batch_image_operator.config import Settings

    settings = Settings(subscription_id="3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8",
                        batch_endpoint_suffix="127.0.0.1:9", retry_total=0)
    credential = CountingCredential()
    clients = AzureClients(settings, credential)
    try:
        with pytest.raises(UntrustedEndpoint):
            clients.batch_data("https://attacker.example")
        client = clients.batch_data("https://127.0.0.1:9/batch/acct")
        for url in ("https://attacker.example/nodecounts", "https://127.0.0.1:10/nodecounts",
                    "http://127.0.0.1:9/nodecounts"):
            with pytest.raises(UntrustedEndpoint):
                await client.send_request(HttpRequest("GET", url))
        assert credential.tokens == 0
    finally:
        await clients.close()
