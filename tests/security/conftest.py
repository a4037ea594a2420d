"""Attack scenarios on kubesim + azuresim (fresh emulators per test)."""

from emulator_fixtures import azuresim, azuresim_speed, crs, kubesim
from secsupport import foreign_host

__all__ = ["azuresim", "azuresim_speed", "crs", "foreign_host", "kubesim"]
