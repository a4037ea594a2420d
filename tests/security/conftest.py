"""Attack scenarios on kubesim + azuresim (fresh emulators per test, tests/conftest.py)."""

from helpers.security import foreign_host

__all__ = ["foreign_host"]
