"""kubesim: an in-memory Kubernetes API server emulator. See README.md."""
