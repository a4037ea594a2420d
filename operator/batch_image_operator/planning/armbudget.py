"""ARM's request budget, mirrored client-side (pure: no I/O, the clock is passed in).

ARM limits each principal, per subscription, with token buckets: reads 250 tokens refilled
at 25 per second, writes 200 at 10/s, deletes 200 at 10/s; an empty bucket answers 429.
A :class:`Budget` is one such bucket as the operator sees it. Callers *reserve* a token
before sending: the answer is how long to wait, so concurrent callers queue in order and
leave at the bucket's refill rate instead of bursting into 429s. What ARM reports back
(``x-ms-ratelimit-remaining-*``, a 429's ``Retry-After``) only ever lowers the estimate.

Another client of the same principal (a second operator, a person's `az` loop) draws
from ARM's bucket too. ARM's count then falls below ours; the shortfall is taken from
the estimate and, when requests are already queued, pushes each of them back by the time
the bucket needs to refill it (:attr:`Budget.shift`): their turns were given out at the
old rate, and would otherwise meet 429s until the queue drained.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    capacity: float
    refill_per_second: float


ARM_LIMITS = {"reads": Limit(250, 25), "writes": Limit(200, 10), "deletes": Limit(200, 10)}
# Tokens kept back from the burst: requests reserved in order can reach ARM slightly out
# of order or bunched, and the estimate must not be the one that is short.
SAFETY_TOKENS = 3.0


def category(method: str) -> str:
    """Which bucket an HTTP method draws from."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return "reads"
    return "deletes" if method == "DELETE" else "writes"


class Budget:
    def __init__(self, limit: Limit, now: float, safety: float = SAFETY_TOKENS) -> None:
        self.limit = limit
        self.safety = safety
        # Below zero: tokens already promised to callers still waiting their turn.
        self.tokens = limit.capacity - safety
        self.stamp = now
        self.blocked_until = 0.0
        # Tokens reserved for requests not sent yet (ARM has not counted them).
        self.pending = 0
        # Seconds every queued request has been pushed back by, in total (only grows).
        self.shift = 0.0

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.limit.capacity - self.safety,
                              self.tokens + (now - self.stamp) * self.limit.refill_per_second)
            self.stamp = now

    def reserve(self, now: float) -> float:
        """Take a token; the seconds to wait before the request may be sent."""
        self._refill(now)
        self.tokens -= 1
        self.pending += 1
        wait = max(0.0, self.blocked_until - now)
        if self.tokens < 0:
            wait = max(wait, -self.tokens / self.limit.refill_per_second)
        return wait

    def refilled_to_cap(self, now: float) -> bool:
        """The estimate is full: a token reserved earlier but not yet sent was lost to the
        cap (ARM still has to take it), so a late request must reserve again."""
        self._refill(now)
        return self.tokens >= self.limit.capacity - self.safety - 1

    def sent(self) -> None:
        """A reserved request went out (or gave up its turn): ARM counts it from now on."""
        self.pending = max(0, self.pending - 1)

    def observe(self, remaining: int, now: float) -> None:
        """ARM said how many tokens it has left: never believe we have more. ARM has not
        counted the requests still queued here, so its figure less those is compared."""
        self._refill(now)
        shortfall = self.tokens - (remaining - self.pending - self.safety)
        if shortfall > 0:
            self.tokens -= shortfall
            if self.pending:
                self.shift += shortfall / self.limit.refill_per_second

    def throttled(self, retry_after: float, now: float) -> None:
        """A 429: nothing goes out before Retry-After, and the bucket is empty. Requests
        already queued were given turns as if ARM had tokens: they all move back by as
        much as the block grew (several 429s for one block move them once)."""
        self._refill(now)
        before = max(self.blocked_until, now)
        self.blocked_until = max(self.blocked_until, now + retry_after)
        self.tokens = min(self.tokens, 0.0)
        moved = self.blocked_until - before
        if self.pending and moved > 0:
            self.tokens -= moved * self.limit.refill_per_second
            self.shift += moved
