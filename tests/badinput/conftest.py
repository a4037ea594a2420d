"""Fresh kubesim and azuresim per test (0.5 s LROs and allocation), CRDs installed."""

import pytest

from emulator_fixtures import azuresim, crs, kubesim

__all__ = ["azuresim", "crs", "kubesim"]


@pytest.fixture
def azuresim_speed() -> tuple[str, str]:
    return ("0.5", "0.5")
