"""The emulator's world: settings, simulated clock, resource store, tokens and statistics."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import allocation, lro
from .aad import Identity, TokenIssuer
from .clock import Clock
from .faults import Faults
from .rbac import Role
from .store import Store

LOG_SIZE = 10_000  # room for a 100-pool burst and its reads


@dataclass
class Settings:
    subscription_id: str
    lro_seconds: float = 1.0
    allocation_seconds: float = 3.0
    custom_image_resize_cap: int = 300
    state_file: Path | None = None


@dataclass
class Stats:
    """What clients did, for test assertions (e.g. "a converged resource costs no writes")."""

    counters: collections.Counter[str] = field(default_factory=collections.Counter)
    log: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=LOG_SIZE)
    )

    def record(self, operation: str, method: str, path: str, status: int,
               user_agent: str = "") -> None:
        self.counters[operation] += 1
        # `at` (wall clock, answered) and the caller's User-Agent tell apart two operator
        # processes sharing one identity (leader election tests).
        self.log.append({"operation": operation, "method": method, "path": path, "status": status,
                         "at": time.time(), "userAgent": user_agent})


class Sim:
    def __init__(self, settings: Settings, identity: Identity) -> None:
        self.settings = settings
        self.identity = identity
        self.clock = Clock()
        self.store = Store(settings.state_file)
        self.stats = Stats()
        self.faults = Faults()
        # Pool id -> when its timed transition (resize, stop) next changes it: all that
        # settle visits, and only once that time has come.
        self.allocating: dict[str, float] = {}
        self.base_url = ""
        self.issuer: TokenIssuer | None = None
        # The operator principal's role (--role-file); None allows everything.
        self.role: Role | None = None

    def bind(self, base_url: str) -> None:
        """Called once the listening port is known: URLs in responses depend on it."""
        self.base_url = base_url
        self.issuer = TokenIssuer(self.identity, base_url)

    def settle(self) -> None:
        """Advance every timed transition (LROs, pool allocation) to the simulated now."""
        lro.settle(self)
        allocation.settle(self)

    # Persistence -----------------------------------------------------------------------
    def load(self) -> None:
        extra = self.store.load()
        self.allocating = {p["id"].lower(): 0.0 for p in self.store.each_of_type(allocation.POOLS)}
        self.clock.offset = float(extra.get("clockOffset", 0.0))
        # Keep the signing key so tokens clients cached survive a restart.
        if self.issuer is not None and extra.get("tokenKey"):
            self.issuer.key = bytes.fromhex(extra["tokenKey"])

    def save(self) -> None:
        extra: dict[str, Any] = {"clockOffset": self.clock.offset}
        if self.issuer is not None:
            extra["tokenKey"] = self.issuer.key.hex()
        self.store.save(extra)

    def speed(self) -> dict[str, Any]:
        return {
            "lroSeconds": self.settings.lro_seconds,
            "allocationSeconds": self.settings.allocation_seconds,
            "customImageResizeCap": self.settings.custom_image_resize_cap,
        }
