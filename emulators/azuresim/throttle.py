"""ARM throttling: token buckets per principal and subscription, as ARM documents them.

Each principal has, per subscription, a bucket for reads (GET/HEAD: 250 tokens, 25 back
per second), writes (PUT/PATCH/POST: 200, 10/s) and deletes (200, 10/s). A request takes
one token; an empty bucket answers 429 ``TooManyRequests`` with ``Retry-After`` (the
seconds until a token is back). Every ARM response carries the bucket's
``x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}``. Off unless the profile
or the admin API turns it on; off, no header is sent.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass
from typing import Any

HEADER = "x-ms-ratelimit-remaining-subscription-{}"


@dataclass
class Limit:
    capacity: float
    refill_per_second: float


def default_limits() -> dict[str, Limit]:
    return {"reads": Limit(250, 25), "writes": Limit(200, 10), "deletes": Limit(200, 10)}


def category(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


@dataclass
class Bucket:
    tokens: float
    stamp: float

    def refill(self, now: float, limit: Limit) -> None:
        self.tokens = min(limit.capacity,
                          self.tokens + (now - self.stamp) * limit.refill_per_second)
        self.stamp = now


@dataclass
class Verdict:
    header: str
    remaining: int
    retry_after: int | None  # set when the request is refused


class Throttle:
    def __init__(self) -> None:
        self.enabled = False
        self.limits = default_limits()
        self.buckets: dict[tuple[str, str, str], Bucket] = {}
        self.throttled: collections.Counter[str] = collections.Counter()

    def check(self, principal: str, subscription: str, method: str,
              now: float | None = None) -> Verdict | None:
        """Take a token for the request, or say how long until there is one."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        kind = category(method)
        limit = self.limits[kind]
        key = (principal, subscription.lower(), kind)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = Bucket(limit.capacity, now)
        bucket.refill(now, limit)
        if bucket.tokens < 1:
            self.throttled[kind] += 1
            wait = (1 - bucket.tokens) / max(limit.refill_per_second, 1e-9)
            return Verdict(HEADER.format(kind), 0, max(1, math.ceil(wait)))
        bucket.tokens -= 1
        return Verdict(HEADER.format(kind), int(bucket.tokens), None)

    def configure(self, data: dict[str, Any]) -> dict[str, Any]:
        """Admin API: ``{"enabled", "reads": {"capacity", "refillPerSecond"}, ..., "reset"}``."""
        if "enabled" in data:
            self.enabled = bool(data["enabled"])
        for kind, limit in self.limits.items():
            given = data.get(kind)
            if isinstance(given, dict):
                limit.capacity = float(given.get("capacity", limit.capacity))
                limit.refill_per_second = float(
                    given.get("refillPerSecond", limit.refill_per_second))
        if data.get("reset"):
            self.buckets.clear()
            self.throttled.clear()
        return self.describe()

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            **{kind: {"capacity": limit.capacity, "refillPerSecond": limit.refill_per_second}
               for kind, limit in self.limits.items()},
            "throttled": dict(self.throttled),
        }
