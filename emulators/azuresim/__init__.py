"""azuresim: a loopback Azure emulator (AAD, ARM Compute and Batch, Batch data plane)."""
