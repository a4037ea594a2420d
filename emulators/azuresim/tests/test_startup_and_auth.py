"""Start-up contract (env file, CA, READY) and Azure AD / bearer-token behaviour."""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import WorkloadIdentityCredential

from azuresim_support import FAST, Azure, http
from simlaunch import run_azuresim

ENV_KEYS = {
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_MANAGER_ENDPOINT",
    "AZURE_CA_BUNDLE",
    "AZURESIM_ADMIN_URL",
    "AZURE_BATCH_ENDPOINT_SUFFIX",
    "BIO_ALLOWLIST_FILE",
}
ARM_SCOPE = "https://management.azure.com/.default"
BATCH_SCOPE = "https://batch.core.windows.net//.default"


def test_env_file_is_complete(azuresim_only: Azure) -> None:
    azure = azuresim_only
    assert azure.emu is not None
    env = azure.env
    assert set(env) == ENV_KEYS
    for key in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID"):
        assert str(uuid.UUID(env[key])) == env[key].lower()
    assert env["AZURE_AUTHORITY_HOST"] == azure.emu.url
    assert env["AZURE_RESOURCE_MANAGER_ENDPOINT"] == azure.emu.url
    assert env["AZURESIM_ADMIN_URL"] == azure.emu.url + "/_azuresim"
    assert azure.emu.url.startswith("https://127.0.0.1:")
    ca = Path(env["AZURE_CA_BUNDLE"])
    assert ca.is_absolute() and ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert len(env["AZURE_CLIENT_SECRET"]) >= 20
    assert env["AZURE_BATCH_ENDPOINT_SUFFIX"] == azure.emu.url.split("://", 1)[1]
    assert Path(env["BIO_ALLOWLIST_FILE"]).read_text().split() == [
        '"*":', "-", f"/subscriptions/{env['AZURE_SUBSCRIPTION_ID']}"]


def test_secret_is_new_per_start_and_sigterm_exits_zero(tmp_path: Path) -> None:
    secrets = []
    for n in range(2):
        with run_azuresim(tmp_path / str(n), *FAST) as emu:
            secrets.append(emu.env["AZURE_CLIENT_SECRET"])
            proc = emu.process
        assert proc.returncode == 0
    assert secrets[0] != secrets[1]


def test_token_for_arm_and_batch(azure: Azure) -> None:
    cred = azure.credential()
    for scope, audience in (
        (ARM_SCOPE, "https://management.azure.com/"),
        (BATCH_SCOPE, "https://batch.core.windows.net/"),
    ):
        token = cred.get_token(scope)
        assert token.expires_on > time.time() + 600
        payload = token.token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert claims["aud"] == audience
        assert claims["tid"] == azure.env["AZURE_TENANT_ID"]


async def test_async_credential_gets_token(azure: Azure) -> None:
    async with azure.async_credential() as cred:
        token = await cred.get_token(ARM_SCOPE)
    status, body, _ = azure.raw(
        "GET", f"/subscriptions/{azure.sub}/resourcegroups?api-version=2021-04-01", token.token
    )
    assert status == 200 and "value" in body


def test_wrong_secret_is_refused(azure: Azure) -> None:
    with pytest.raises(ClientAuthenticationError) as info:
        azure.credential(secret="not-the-secret").get_token(ARM_SCOPE)
    assert "AADSTS7000215" in str(info.value)


def test_unknown_client_is_refused(azure: Azure) -> None:
    from azure.identity import ClientSecretCredential

    cred = ClientSecretCredential(
        azure.env["AZURE_TENANT_ID"],
        str(uuid.uuid4()),
        azure.env["AZURE_CLIENT_SECRET"],
        authority=azure.authority,
        connection_verify=azure.ca,
        disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError):
        cred.get_token(ARM_SCOPE)


def test_arm_requires_a_valid_token(azure: Azure) -> None:
    path = f"/subscriptions/{azure.sub}/resourcegroups?api-version=2021-04-01"
    status, body, headers = azure.raw("GET", path)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")
    status, body, _ = azure.raw("GET", path, token="garbage.token.here")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")


def test_sdk_with_forged_token_raises_client_authentication_error(azure: Azure) -> None:
    from azure.core.credentials import AccessToken
    from azure.mgmt.compute import ComputeManagementClient

    class Forged:
        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            return AccessToken("forged.not.issued", int(time.time()) + 3600)

    client = ComputeManagementClient(Forged(), azure.sub, **azure.mgmt_kwargs())  # type: ignore[arg-type]
    with pytest.raises(ClientAuthenticationError):
        list(client.images.list())


def test_token_audience_is_checked(azure: Azure) -> None:
    batch_token = azure.credential().get_token(BATCH_SCOPE).token
    status, body, _ = azure.raw(
        "GET", f"/subscriptions/{azure.sub}/resourcegroups?api-version=2021-04-01", batch_token
    )
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationTokenAudience")


def test_openid_configuration(azure: Azure) -> None:
    tenant = azure.env["AZURE_TENANT_ID"]
    status, body, _ = http(
        "GET", f"{azure.authority}/{tenant}/v2.0/.well-known/openid-configuration", azure.ca
    )
    assert status == 200
    assert body["token_endpoint"] == f"{azure.authority}/{tenant}/oauth2/v2.0/token"
    assert body["authorization_endpoint"].startswith(f"{azure.authority}/{tenant}/")


def _jwt(claims: dict[str, object]) -> str:
    def b64(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'RS256', 'typ': 'JWT'})}.{b64(claims)}.c2ln"


def test_workload_identity_assertion(azuresim_only: Azure, tmp_path: Path) -> None:
    azure = azuresim_only
    now = int(time.time())
    token_file = tmp_path / "token"
    token_file.write_text(
        _jwt(
            {
                "aud": ["api://AzureADTokenExchange"],
                "sub": "system:serviceaccount:ops:batch-image-operator",
                "iss": "https://kubesim.local",
                "exp": now + 3600,
                "iat": now,
            }
        )
    )
    cred = WorkloadIdentityCredential(
        tenant_id=azure.env["AZURE_TENANT_ID"],
        client_id=azure.env["AZURE_CLIENT_ID"],
        token_file_path=str(token_file),
        authority=azure.env["AZURE_AUTHORITY_HOST"],
        connection_verify=azure.ca,
        disable_instance_discovery=True,
    )
    token = cred.get_token(ARM_SCOPE)
    status, _, _ = azure.raw(
        "GET", f"/subscriptions/{azure.sub}/resourcegroups?api-version=2021-04-01", token.token
    )
    assert status == 200
    token_file.write_text(_jwt({"aud": "https://wrong", "sub": "x", "exp": now + 3600}))
    bad = WorkloadIdentityCredential(
        tenant_id=azure.env["AZURE_TENANT_ID"],
        client_id=azure.env["AZURE_CLIENT_ID"],
        token_file_path=str(token_file),
        authority=azure.env["AZURE_AUTHORITY_HOST"],
        connection_verify=azure.ca,
        disable_instance_discovery=True,
    )
    with pytest.raises(ClientAuthenticationError):
        bad.get_token(ARM_SCOPE)
