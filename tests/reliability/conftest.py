"""Fresh kubesim and azuresim per test (tests/conftest.py), at 0.5 s LROs and allocation."""

import pytest


@pytest.fixture
def azuresim_speed() -> tuple[str, str]:
    return ("0.5", "0.5")
