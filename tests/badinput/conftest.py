"""Fresh kubesim and azuresim per test (fast LROs and allocation), CRDs installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Emulator, run_azuresim, run_kubesim
from support import SEED, SUB, CRs, install_crds, kube_api


@pytest.fixture
def kubesim(tmp_path: Path) -> Iterator[Emulator]:
    with run_kubesim(tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def azuresim(tmp_path: Path) -> Iterator[Emulator]:
    with run_azuresim(tmp_path / "azuresim", "--seed", str(SEED), "--subscription-id", SUB,
                      "--lro-seconds", "0.5", "--allocation-seconds", "0.5") as sim:
        yield sim


@pytest.fixture
def crs(kubesim: Emulator) -> CRs:
    api = kube_api(kubesim.kubeconfig)
    install_crds(api)
    return CRs(api)
