"""The Batch data-plane bearer token goes only to hosts under the configured cloud's
Batch endpoint suffix: an account endpoint or an ``odata.nextLink`` naming another host
(or port) gets a clear error on the BatchPool, and the foreign host sees no connection.

The attacker controls what Azure's replies say (a hostile or compromised service, a
misconfigured cloud): azuresim's admin API plays that part.
"""

from __future__ import annotations

import requests

from helpers.security import ForeignHost
from helpers.system import SUB, CRs, azure_requests, condition, load_example, running_operator
from simlaunch import Emulator

ACCOUNT = (f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.Batch"
           "/batchAccounts/batchdemo")
DATA_PLANE = f"/batch/{SUB}/rg-batch/batchdemo"


def refused_or_leaked(host: ForeignHost, words: str):
    """Ready=False naming the refusal, or (the bug) the foreign host was contacted."""
    def check(pool: dict) -> bool:
        ready = condition(pool, "Ready") or {}
        return host.contacted or (
            ready.get("status") == "False" and words in ready.get("message", ""))
    return check


def create_example(crs: CRs) -> None:
    for doc in load_example("snapshots"):
        crs.create(doc)


def test_an_account_endpoint_on_a_foreign_host_gets_no_token(
        kubesim: Emulator, azuresim: Emulator, crs: CRs, foreign_host: ForeignHost) -> None:
    # The account's endpoint now names another host (same path, the token's audience).
    reply = requests.post(f"{azuresim.admin_url}/account-endpoint", verify=azuresim.ca_bundle,
                          json={"id": ACCOUNT, "accountEndpoint":
                                f"localhost:{foreign_host.port}{DATA_PLANE}"}, timeout=10)
    reply.raise_for_status()
    with running_operator(kubesim.url, azuresim.env, AZURE_CA_BUNDLE=foreign_host.ca_bundle):
        create_example(crs)
        pool = crs.wait("batchpools", "render-pool",
                        refused_or_leaked(foreign_host, "AZURE_BATCH_ENDPOINT_SUFFIX"),
                        timeout=90)
    assert foreign_host.authorizations == []
    assert foreign_host.connections == 0
    message = condition(pool, "Ready")["message"]
    assert f"localhost:{foreign_host.port}" in message and "no request was sent" in message
    # Nothing went to the account's real data plane either.
    assert not [r for r in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
                if r["path"].startswith("/batch/")]


def test_a_next_link_to_another_host_or_port_is_not_followed(
        kubesim: Emulator, azuresim: Emulator, crs: CRs, foreign_host: ForeignHost) -> None:
    # Every node-count page the account answers points its nextLink at the foreign host:
    # the same loopback address, another port (and so another origin).
    link = f"https://127.0.0.1:{foreign_host.port}{DATA_PLANE}/nodecounts?$skiptoken=1"
    reply = requests.post(f"{azuresim.admin_url}/faults", verify=azuresim.ca_bundle,
                          json={"method": "GET", "pathRegex": "/nodecounts$", "count": 1000,
                                "nextLink": link}, timeout=10)
    reply.raise_for_status()
    with running_operator(kubesim.url, azuresim.env, AZURE_CA_BUNDLE=foreign_host.ca_bundle):
        create_example(crs)
        pool = crs.wait("batchpools", "render-pool",
                        refused_or_leaked(foreign_host, "odata.nextLink"), timeout=90)
    assert foreign_host.authorizations == []
    assert foreign_host.connections == 0
    message = condition(pool, "Ready")["message"]
    assert f"127.0.0.1:{foreign_host.port}" in message and "leaves the account endpoint" in message
    # The first page was read from the real account endpoint: the refusal is the link's.
    assert [r for r in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
            if r["path"] == f"{DATA_PLANE}/nodecounts"]
