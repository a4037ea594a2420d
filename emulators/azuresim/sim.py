"""The emulator's world: settings, simulated clock, resource store, tokens and statistics."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import allocation, lro, profiles
from .aad import Identity, TokenIssuer
from .clock import Clock
from .faults import Faults
from .rbac import Role
from .store import Store
from .throttle import Throttle

LOG_SIZE = 10_000  # room for a 100-pool burst and its reads


@dataclass
class Settings:
    subscription_id: str
    lro_seconds: float = 1.0
    allocation_seconds: float = 3.0
    custom_image_resize_cap: int = 300
    state_file: Path | None = None
    profile: profiles.Profile = field(default_factory=profiles.Profile)


@dataclass
class Stats:
    """What clients did, for test assertions (e.g. "a converged resource costs no writes")."""

    counters: collections.Counter[str] = field(default_factory=collections.Counter)
    log: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=LOG_SIZE)
    )

    def record(self, operation: str, method: str, path: str, status: int,
               at: float = 0.0, retry_after: str | None = None,
               user_agent: str = "") -> None:
        self.counters[operation] += 1
        # The caller's User-Agent tells apart two operator processes sharing one identity
        # (leader election tests).
        entry: dict[str, Any] = {"operation": operation, "method": method, "path": path,
                                 "status": status, "at": at, "userAgent": user_agent}
        if retry_after is not None:
            entry["retryAfter"] = retry_after
        self.log.append(entry)


class Sim:
    def __init__(self, settings: Settings, identity: Identity) -> None:
        self.settings = settings
        self.identity = identity
        self.clock = Clock()
        self.store = Store(settings.state_file)
        self.stats = Stats()
        self.faults = Faults()
        self.failures = lro.Failures()
        self.throttle = Throttle()
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

    def lro_seconds(self, kind: str) -> float:
        """How long an operation of ``kind`` (see profiles.KINDS) takes."""
        return self.settings.profile.duration(kind, self.settings.lro_seconds)

    def retry_after(self, kind: str) -> int:
        return self.settings.profile.retry_after_for(kind)

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
            "profile": self.settings.profile.name,
            "factor": self.settings.profile.factor,
        }
