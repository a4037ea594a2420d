from emulator_fixtures import azuresim, azuresim_speed, crs, kubesim, start_operator

__all__ = ["azuresim", "azuresim_speed", "crs", "kubesim", "start_operator"]
