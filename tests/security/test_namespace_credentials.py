"""A namespace's Azure credential comes from its own Secret, or it gets nothing.

Attacker: a namespace tenant with a BatchPool/ManagedImage and write access to its own
namespace (its Secret), but not to the operator's identity. Every broken Secret gets a
CredentialError condition and Warning event (no Azure write), and no Secret value shows
in status, events or the operator's logs.
"""

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

SECRET = "azure-credential"
FAKE_TENANT = "0badc0de-1111-4222-8333-444455556666"
FAKE_CLIENT = "0badc0de-7777-4888-8999-aaaabbbbcccc"
WRONG = "wrong-secret-value-7c1e"
BINARY = b"\xff\xfeBINARY-SECRET-VALUE-42\x80"


def secret_data(**values: str | bytes) -> dict[str, str]:
    return {k: base64.b64encode(v if isinstance(v, bytes) else v.encode()).decode()
            for k, v in values.items()}


def image_named(name: str) -> dict:
    image = copy.deepcopy({d["kind"]: d for d in load_example("snapshots")}["ManagedImage"])
    image["spec"]["imageName"] = name
    return image


def test_broken_or_missing_credential_secrets_get_credential_error_and_leak_nothing(
        kubesim: Emulator, azuresim: Emulator, crs: CRs, caplog) -> None:
    api = kube_api(kubesim.kubeconfig)
    core = k8s.CoreV1Api(api)
    good = {"AZURE_TENANT_ID": azuresim.env["AZURE_TENANT_ID"],
            "AZURE_CLIENT_ID": azuresim.env["AZURE_CLIENT_ID"]}
    fake = {"AZURE_TENANT_ID": FAKE_TENANT, "AZURE_CLIENT_ID": FAKE_CLIENT}
    secrets = {
        "no-secret": None,                                            # deleted, or never made
        "no-key": secret_data(**fake),                                # AZURE_CLIENT_SECRET absent
        "empty-key": secret_data(**fake, AZURE_CLIENT_SECRET=""),
        "binary": secret_data(**fake, AZURE_CLIENT_SECRET=BINARY),   # not UTF-8
        "wrong": secret_data(**good, AZURE_CLIENT_SECRET=WRONG),     # Azure AD refuses it
    }
    expected = {"no-secret": ("CredentialError", "has no credential Secret"),
                "no-key": ("CredentialError", "lacks AZURE_CLIENT_SECRET"),
                "empty-key": ("CredentialError", "has an empty AZURE_CLIENT_SECRET"),
                "binary": ("CredentialError", "AZURE_CLIENT_SECRET is not base64-encoded"),
                "wrong": ("AzureAuthError", "Azure AD refused the credential")}
    for ns, data in secrets.items():
        core.create_namespace({"metadata": {"name": ns}})
        if data is not None:
            core.create_namespaced_secret(ns, {"metadata": {"name": SECRET}, "data": data})
    azure_requests(azuresim.admin_url, azuresim.ca_bundle, reset=True)
    seen: dict[str, dict] = {}
    events: list = []
    with running_operator(kubesim.url, azuresim.env, BIO_NAMESPACE_CREDENTIAL_SECRET=SECRET):
        for ns in secrets:
            CRs(api, ns).create(image_named(f"img-{ns}"))
        for ns, (reason, words) in expected.items():
            seen[ns] = CRs(api, ns).wait("managedimages", "ubuntu-hpc",
                                         has_condition("Ready", "False", reason), timeout=60)
            assert words in condition(seen[ns], "Ready")["message"], seen[ns]
            if reason == "CredentialError":
                events.append(CRs(api, ns).wait_event("ubuntu-hpc", "CredentialError"))
        for ns in secrets:
            events += CRs(api, ns).events("ubuntu-hpc")
    # Not one of them was built with the operator's identity (or any other).
    writes = [r for r in azure_requests(azuresim.admin_url, azuresim.ca_bundle)
              if r["method"] != "GET" and "/images/img-" in r["path"]]
    assert writes == []
    shown = str(seen) + str(events) + caplog.text
    for value in (WRONG, "BINARY-SECRET-VALUE-42", FAKE_TENANT, FAKE_CLIENT,
                  azuresim.env["AZURE_CLIENT_SECRET"], str(BINARY), repr(BINARY[:4])):
        assert value not in shown, value
    assert "Traceback" not in caplog.text

