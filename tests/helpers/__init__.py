"""What the test suites share: the waits, the operator and emulator clients, the fake
Azure gateways of the unit tests, and the helpers of the chart, CRD, realkube,
reliability and security suites. The fixtures themselves are in tests/conftest.py."""
