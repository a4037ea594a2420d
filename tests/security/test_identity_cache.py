"""Namespace identities are bounded: a Secret edit replaces its identity (the old one's
sessions, SDK clients and credential are closed once no pass holds it), a Secret that
goes takes its identity with it, and at most BIO_CREDENTIAL_CACHE_SIZE are kept.

Attacker: a namespace tenant who edits its own credential Secret in a loop, each edit
a new identity on main, until the operator runs out of memory for everyone.
"""

from __future__ import annotations

import base64
import gc
from collections.abc import AsyncIterator

import kopf
import pytest
from kubernetes import client as k8s

from batch_image_operator.azure.clients import AzureClients
from batch_image_operator.config import Settings
from batch_image_operator.kube.api import KubeApi
from batch_image_operator.kube.secrets import SecretError
from batch_image_operator.runner.runtime import Runtime
from helpers.system import SUB, kube_api
from simlaunch import Emulator

SECRET = "azure-credential"
EDITS = 200


def open_clients() -> int:
    """AzureClients objects alive with an open session, found by the garbage collector
    (not by the runtime's own bookkeeping)."""
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, AzureClients) and o._session is not None)


@pytest.fixture
async def runtime(kubesim: Emulator, azuresim: Emulator) -> AsyncIterator[Runtime]:
    env = {**azuresim.env, "BIO_NAMESPACE_CREDENTIAL_SECRET": SECRET,
           "BIO_SECRET_CACHE_SECONDS": "0.000001", "BIO_CREDENTIAL_CACHE_SIZE": "3",
           "BIO_METRICS_PORT": "off"}
    rt = Runtime(Settings.from_env(env), env)
    rt.kube = KubeApi(lambda: kopf.ConnectionInfo(server=kubesim.url, insecure=True), 4)
    await rt.start()
    yield rt
    await rt.stop()


def write_secret(core: k8s.CoreV1Api, ns: str, secret: str, create: bool = False) -> None:
    values = {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": secret}
    body = {"metadata": {"name": SECRET},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}}
    if create:
        core.create_namespace({"metadata": {"name": ns}})
        core.create_namespaced_secret(ns, body)
    else:
        core.replace_namespaced_secret(SECRET, ns, body)


async def one_pass(runtime: Runtime, ns: str) -> AzureClients:
    """What a reconcile pass does with the identity: makes its clients (and session)."""
    async with runtime.identities.identity(ns) as identity:
        identity.clients.compute(SUB)
        identity.clients.batch(SUB)
        return identity.clients


async def test_secret_edits_do_not_pile_up_identities(runtime: Runtime,
                                                      kubesim: Emulator) -> None:
    core = k8s.CoreV1Api(kube_api(kubesim.kubeconfig))
    await one_pass(runtime, None)  # the operator's own identity, for the baseline
    before = open_clients()
    write_secret(core, "team-b", "secret-0", create=True)
    first = await one_pass(runtime, "team-b")
    for n in range(1, EDITS + 1):
        write_secret(core, "team-b", f"secret-{n}")
        await one_pass(runtime, "team-b")
    # One identity for team-b's current Secret, whatever the number of edits.
    assert open_clients() - before == 1
    assert runtime.identities.identities_alive() == 1
    assert first._session is None  # closed, not merely dropped from the cache
    # The Secret goes: so does its identity, and team-b gets a CredentialError.
    core.delete_namespaced_secret(SECRET, "team-b")
    with pytest.raises(SecretError, match="has no credential Secret"):
        await one_pass(runtime, "team-b")
    assert open_clients() == before and runtime.identities.identities_alive() == 0


async def test_a_pass_keeps_its_identity_until_it_ends(runtime: Runtime,
                                                       kubesim: Emulator) -> None:
    core = k8s.CoreV1Api(kube_api(kubesim.kubeconfig))
    write_secret(core, "team-c", "old", create=True)
    async with runtime.identities.identity("team-c") as old:
        old.clients.compute(SUB)
        write_secret(core, "team-c", "new")
        new = await one_pass(runtime, "team-c")
        assert new is not old.clients
        assert old.clients._session is not None  # a running pass is not cut off
    assert old.clients._session is None
    assert new._session is not None


async def test_at_most_the_configured_number_of_identities_is_kept(
        runtime: Runtime, kubesim: Emulator) -> None:
    core = k8s.CoreV1Api(kube_api(kubesim.kubeconfig))
    before = open_clients()
    for n in range(6):
        write_secret(core, f"team-{n}", f"secret-of-{n}", create=True)
        await one_pass(runtime, f"team-{n}")
    assert runtime.identities.identities_alive() == 3  # BIO_CREDENTIAL_CACHE_SIZE
    assert open_clients() - before == 3
    await one_pass(runtime, "team-0")  # evicted: made again, the oldest goes instead
    assert runtime.identities.identities_alive() == 3
