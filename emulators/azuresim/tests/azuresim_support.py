"""Shared by the azuresim tests: the Azure handle, HTTP helper and names.

A module with a unique name: every tests/ folder has a conftest.py, so `from conftest
import ...` would pick whichever was imported first."""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from azure.identity import ClientSecretCredential
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.compute import ComputeManagementClient

from simlaunch import Emulator

FAST = ("--lro-seconds", "0.2", "--allocation-seconds", "0.5")
LOCATION = os.environ.get("AZURESIM_CONFORMANCE_LOCATION", "westeurope")
CONFORMANCE_ENV = "AZURESIM_CONFORMANCE_ENV"


@dataclass
class Azure:
    """Connection facts for azuresim (or real Azure), read only from an env file."""

    env: dict[str, str]
    emu: Emulator | None = None

    @property
    def is_sim(self) -> bool:
        return self.emu is not None

    @property
    def url(self) -> str:
        return self.env.get("AZURE_RESOURCE_MANAGER_ENDPOINT", "https://management.azure.com")

    @property
    def authority(self) -> str:
        return self.env.get("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com")

    @property
    def ca(self) -> str | bool:
        """The emulator's CA bundle, or True (system trust) for real Azure."""
        return self.env.get("AZURE_CA_BUNDLE") or True

    @property
    def sub(self) -> str:
        return self.env["AZURE_SUBSCRIPTION_ID"]

    def credential(self, secret: str | None = None) -> ClientSecretCredential:
        return ClientSecretCredential(
            self.env["AZURE_TENANT_ID"],
            self.env["AZURE_CLIENT_ID"],
            secret or self.env["AZURE_CLIENT_SECRET"],
            authority=self.authority,
            connection_verify=self.ca,
            disable_instance_discovery=True,
        )

    def async_credential(self) -> AsyncClientSecretCredential:
        return AsyncClientSecretCredential(
            self.env["AZURE_TENANT_ID"],
            self.env["AZURE_CLIENT_ID"],
            self.env["AZURE_CLIENT_SECRET"],
            authority=self.authority,
            connection_verify=self.ca,
            disable_instance_discovery=True,
        )

    def mgmt_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.url,
            "connection_verify": self.ca,
            "polling_interval": 1,
            "retry_total": 2,
            "retry_backoff_factor": 0.01,
            "retry_backoff_max": 0.05,
        }

    def compute(self) -> ComputeManagementClient:
        return ComputeManagementClient(self.credential(), self.sub, **self.mgmt_kwargs())

    def batch_mgmt(self) -> BatchManagementClient:
        return BatchManagementClient(self.credential(), self.sub, **self.mgmt_kwargs())

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """azuresim's admin API; a test that needs it is skipped against real Azure."""
        if not self.is_sim:
            pytest.skip("azuresim admin API; not available on real Azure")
        return http(method, self.env["AZURESIM_ADMIN_URL"] + path, self.ca, body)[1]

    def arm_token(self) -> str:
        return self.credential().get_token("https://management.azure.com/.default").token

    def raw(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return http(method, self.url + path, self.ca, body, headers)

    def create_rg(self, name: str, location: str = LOCATION) -> str:
        """Resource groups have no client in the installed SDKs: PUT them over HTTPS."""
        status, body, _ = self.raw(
            "PUT",
            f"/subscriptions/{self.sub}/resourcegroups/{name}?api-version=2021-04-01",
            self.arm_token(),
            {"location": location},
        )
        assert status == 201, body
        return name


def http(
    method: str,
    url: str,
    ca: str | bool,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any]:
    """(status, JSON body or None, headers) of one HTTPS request trusting ``ca``."""
    ctx = ssl.create_default_context(cafile=ca if isinstance(ca, str) else None)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            text = resp.read().decode()
            return resp.status, json.loads(text) if text else None, resp.headers
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        return err.code, json.loads(text) if text else None, err.headers


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
