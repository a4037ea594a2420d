from emulator_fixtures import azuresim, azuresim_speed, crs, kubesim

__all__ = ["azuresim", "azuresim_speed", "crs", "kubesim"]
