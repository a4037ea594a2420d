"""The Azure subscription ids the tests use (the emulators' seeded one, and two that sort
before and after it, for the ordering checks of the spec validation)."""

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
LOWER_SUB = "0f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
HIGHER_SUB = "9f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
