"""The fixtures every operator-level suite uses: a fresh kubesim and azuresim per test
(seeded like the demo), the CRDs installed, and the operator started against them. A
suite's own conftest may override ``azuresim_speed``. Helpers are in tests/helpers/."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from helpers.system import SEED, SUB, CRs, StartOperator, install_crds, kube_api, running_operator
from simlaunch import Emulator, run_azuresim, run_kubesim


@pytest.fixture
def azuresim_speed() -> tuple[str, str]:
    """Simulated (LRO seconds, allocation seconds)."""
    return ("0.3", "1")


@pytest.fixture
def kubesim(tmp_path: Path) -> Iterator[Emulator]:
    with run_kubesim(tmp_path / "kubesim") as sim:
        yield sim


@pytest.fixture
def azuresim(tmp_path: Path, azuresim_speed: tuple[str, str]) -> Iterator[Emulator]:
    lro, allocation = azuresim_speed
    with run_azuresim(tmp_path / "azuresim", "--seed", str(SEED), "--subscription-id", SUB,
                      "--lro-seconds", lro, "--allocation-seconds", allocation) as sim:
        yield sim


@pytest.fixture
def crs(kubesim: Emulator) -> CRs:
    api = kube_api(kubesim.kubeconfig)
    install_crds(api)
    return CRs(api)


@pytest.fixture
def start_operator(kubesim: Emulator, azuresim: Emulator) -> StartOperator:
    """``with start_operator(BIO_X="..."):`` the operator against kubesim and azuresim."""
    return partial(running_operator, kubesim.url, azuresim.env)
