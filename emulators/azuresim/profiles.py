"""Timing profiles: how long each kind of operation takes and what Retry-After says.

``fast`` (the default) finishes every operation in ``--lro-seconds`` and asks pollers to
come back after one second, so the test suites stay quick. ``realistic`` uses what real
Azure was measured to take (an image or snapshot about 20 s, a gallery version's
replication minutes with ``Retry-After: 60``, a pool delete about 20 s with
``Retry-After: 15``, node allocation minutes) and turns ARM throttling on; ``factor``
scales every duration and Retry-After so tests can run the realistic shape quickly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Operation kinds with their own timing; anything else is "default".
KINDS = ("default", "snapshot", "image", "gallery", "version", "poolDelete")

REALISTIC_SECONDS = {"default": 20.0, "snapshot": 20.0, "image": 20.0, "gallery": 10.0,
                     "version": 180.0, "poolDelete": 20.0}
REALISTIC_RETRY_AFTER = {"default": 10, "snapshot": 2, "image": 10, "gallery": 10,
                         "version": 60, "poolDelete": 15}
REALISTIC_ALLOCATION_SECONDS = 180.0


@dataclass
class Profile:
    name: str = "fast"
    factor: float = 1.0
    seconds: dict[str, float] = field(default_factory=dict)    # unscaled; missing: lroSeconds
    retry_after: dict[str, int] = field(default_factory=dict)  # unscaled; missing: 1

    def duration(self, kind: str, lro_seconds: float) -> float:
        base = self.seconds.get(kind, self.seconds.get("default"))
        return lro_seconds if base is None else base * self.factor

    def retry_after_for(self, kind: str) -> int:
        """Whole seconds, at least 1: azure-core treats a smaller value as absent."""
        base = self.retry_after.get(kind, self.retry_after.get("default"))
        return 1 if base is None else max(1, math.ceil(base * self.factor))


def make(name: str, factor: float = 1.0) -> Profile:
    if name == "fast":
        return Profile("fast", factor)
    if name == "realistic":
        return Profile("realistic", factor, dict(REALISTIC_SECONDS), dict(REALISTIC_RETRY_AFTER))
    raise ValueError(f"unknown profile {name!r} (fast or realistic)")
