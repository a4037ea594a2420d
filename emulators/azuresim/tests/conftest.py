"""Fixtures: one azuresim per session (or a real subscription when
AZURESIM_CONFORMANCE_ENV names an env file with the same AZURE_* keys), and real Azure
SDK clients built only from that env file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from azuresim_support import CONFORMANCE_ENV, FAST, Azure, unique
from simlaunch import read_env_file, run_azuresim

LIVE_KEYS = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
             "AZURE_SUBSCRIPTION_ID")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The whole suite is the live suite: `AZURE_LIVE=1 pytest -m live emulators/azuresim/tests`.
    for item in items:
        if "emulators/azuresim/tests/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azure]:
    if os.environ.get("AZURE_LIVE") == "1":
        missing = [k for k in LIVE_KEYS if not os.environ.get(k)]
        if missing:
            pytest.skip(f"AZURE_LIVE=1 but {', '.join(missing)} not set")
        env = {k: v for k, v in os.environ.items() if k.startswith("AZURE_")}
        env.setdefault("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com")
        env.setdefault("AZURE_RESOURCE_MANAGER_ENDPOINT", "https://management.azure.com")
        yield Azure(env)
        return
    real = os.environ.get(CONFORMANCE_ENV)
    if real:
        yield Azure(read_env_file(Path(real)))
        return
    with run_azuresim(tmp_path_factory.mktemp("azuresim"), *FAST) as emu:
        yield Azure(emu.env, emu)


@pytest.fixture
def azuresim_only(azure: Azure) -> Azure:
    if not azure.is_sim:
        pytest.skip("tests azuresim itself; not applicable to real Azure")
    return azure


@pytest.fixture
def rg(azure: Azure) -> Iterator[str]:
    """A fresh resource group for one test (deleted afterwards on real Azure)."""
    name = azure.create_rg(unique("rg-"))
    yield name
    if not azure.is_sim:
        azure.raw(
            "DELETE",
            f"/subscriptions/{azure.sub}/resourcegroups/{name}?api-version=2021-04-01",
            azure.arm_token(),
        )
