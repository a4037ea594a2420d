"""A namespace's own Azure credential Secret is used for that namespace only, and its
values never show up in status, events or logs."""

from __future__ import annotations

import base64
import copy

from kubernetes import client as k8s

from helpers.system import (
    CRs,
    azure_requests,
    condition,
    has_condition,
    kube_api,
    load_example,
    running_operator,
)
from simlaunch import Emulator

WRONG = "not-the-right-secret-3b1f"


def b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def test_namespace_credential_secret(kubesim: Emulator, azuresim: Emulator, crs: CRs,
                                     caplog) -> None:
    api = kube_api(kubesim.kubeconfig)
    core = k8s.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "team-b"}})
    core.create_namespaced_secret("team-b", {
        "metadata": {"name": "azure-credential"},
        "data": b64({"AZURE_TENANT_ID": azuresim.env["AZURE_TENANT_ID"],
                     "AZURE_CLIENT_ID": azuresim.env["AZURE_CLIENT_ID"],
                     "AZURE_CLIENT_SECRET": WRONG})})
    image = {d["kind"]: d for d in load_example("snapshots")}["ManagedImage"]
    team_b = CRs(api, "team-b")
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    with running_operator(kubesim.url, azuresim.env,
                          BIO_NAMESPACE_CREDENTIAL_SECRET="azure-credential",
                          BIO_NAMESPACE_CREDENTIAL_FALLBACK="operator",
                          BIO_SECRET_CACHE_SECONDS="0.5"):
        mine = copy.deepcopy(image)
        mine["spec"]["imageName"] = "ubuntu-hpc-team-b"
        team_b.create(mine)
        # team-b's (wrong) credential is refused by Azure AD: an auth error, no image.
        refused = team_b.wait("managedimages", "ubuntu-hpc",
                              has_condition("Ready", "False", "AzureAuthError"))
        assert "auth" in condition(refused, "Ready")["message"].lower()
        # The default namespace has no such Secret and, as configured, uses the
        # operator's identity.
        crs.create(copy.deepcopy(image))
        crs.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        # Fixing the Secret fixes team-b (the Secret is re-read after its cache expires).
        core.patch_namespaced_secret("azure-credential", "team-b", {"data": b64({
            "AZURE_CLIENT_SECRET": azuresim.env["AZURE_CLIENT_SECRET"]})})
        team_b.wait("managedimages", "ubuntu-hpc", has_condition("Ready"))
        events = team_b.events("ubuntu-hpc")
    shown = str(refused) + str(events) + caplog.text
    assert WRONG not in shown
    assert azuresim.env["AZURE_CLIENT_SECRET"] not in shown
