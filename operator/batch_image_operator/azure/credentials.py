"""azure-identity credentials: workload identity, then client secret, then managed identity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import (
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)

from ..config import CredentialSettings


def build_credential(creds: CredentialSettings, *, ca_bundle: str | None,
                     env: Mapping[str, str] | None = None) -> AsyncTokenCredential:
    env = os.environ if env is None else env
    common: dict[str, Any] = {}
    if ca_bundle:
        common["connection_verify"] = ca_bundle
    if creds.authority_host:
        common["authority"] = creds.authority_host
    if creds.custom_authority:
        common["disable_instance_discovery"] = True
    route = creds.route
    if route == "workload-identity":
        assert creds.tenant_id and creds.client_id and creds.federated_token_file
        return WorkloadIdentityCredential(
            tenant_id=creds.tenant_id, client_id=creds.client_id,
            token_file_path=creds.federated_token_file, **common)
    if route == "client-secret":
        assert creds.tenant_id and creds.client_id
        return ClientSecretCredential(creds.tenant_id, creds.client_id,
                                      env["AZURE_CLIENT_SECRET"], **common)
    kwargs: dict[str, Any] = {}
    if creds.client_id:
        kwargs["client_id"] = creds.client_id
    if ca_bundle:
        kwargs["connection_verify"] = ca_bundle
    return ManagedIdentityCredential(**kwargs)
