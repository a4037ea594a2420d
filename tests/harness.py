"""Test-side name for the emulator launcher (shared with the demo)."""

from simlaunch import Emulator, read_env_file, run_azuresim, run_kubesim

__all__ = ["Emulator", "read_env_file", "run_azuresim", "run_kubesim"]
