"""Client-side pacing of ARM calls: an azure-core pipeline policy over ARM's token buckets.

One :class:`ArmPacer` per identity (AzureClients is created once per identity), holding a
:class:`~..planning.armbudget.Budget` per subscription and bucket. Every ARM attempt,
SDK retries included, waits for its token before it is sent; the rate-limit headers and
429s that come back correct the estimate. An endpoint that answers without rate-limit
headers (one that does not throttle: an emulator, some private clouds) is not paced; ARM
sends them on every response, so real ARM is paced from its first answer (and its first
burst is within the bucket anyway). It also remembers the ``Retry-After`` each resource's
long-running operation asked for, so polls of that resource come no more often.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy

from ..fairshare import slot_released
from ..planning.armbudget import ARM_LIMITS, Budget, Limit, category

_SUBSCRIPTION = re.compile(r"/subscriptions/([^/?]+)", re.IGNORECASE)
HEADER = "x-ms-ratelimit-remaining-subscription-{}"
# A write sent later than this after its reserved time takes a fresh token.
LATE_SECONDS = 1.0


def retry_after_seconds(headers: Any) -> float | None:
    raw = headers.get("Retry-After") if headers is not None else None
    return float(raw) if raw is not None and str(raw).strip().isdigit() else None


def resource_key(url: str) -> str:
    """A resource's URL path, lower-cased, without query: what a later GET addresses."""
    path = url.split("?", 1)[0]
    path = re.sub(r"^https?://[^/]+", "", path)
    return path.rstrip("/").lower()


class ArmPacer:
    def __init__(self, limits: dict[str, Limit] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits or ARM_LIMITS
        self._clock = clock
        self._budgets: dict[tuple[str, str], Budget] = {}
        self._polls: dict[str, float] = {}     # resource key -> its LRO's Retry-After
        self._unpaced: set[str] = set()        # subscriptions answering without the headers
        self.waited_seconds = 0.0
        self.throttled = 0

    def now(self) -> float:
        return self._clock()

    def budget(self, subscription: str, kind: str) -> Budget | None:
        """The bucket a request draws from; None where the endpoint does not throttle."""
        if subscription.lower() in self._unpaced:
            return None
        key = (subscription.lower(), kind)
        found = self._budgets.get(key)
        if found is None:
            found = self._budgets[key] = Budget(self._limits[kind], self._clock())
        return found

    def poll_interval(self, resource_path: str) -> float:
        """The Retry-After (seconds) of the LRO last started on this resource, else 0."""
        return self._polls.get(resource_key(resource_path), 0.0)

    def record(self, subscription: str | None, method: str, url: str, status: int,
               headers: Any) -> None:
        now = self._clock()
        kind = category(method)
        remaining = headers.get(HEADER.format(kind)) if headers is not None else None
        if subscription is not None:
            if remaining is None and status < 400:
                self._unpaced.add(subscription.lower())
            elif remaining is not None:
                self._unpaced.discard(subscription.lower())
        budget = self.budget(subscription, kind) if subscription is not None else None
        if budget is not None:
            if remaining is not None and str(remaining).strip().isdigit():
                budget.observe(int(remaining), now)
            if status == 429:
                self.throttled += 1
                budget.throttled(retry_after_seconds(headers) or 1.0, now)
        retry_after = retry_after_seconds(headers)
        if method.upper() in ("PUT", "PATCH", "DELETE") and status in (200, 201, 202):
            key = resource_key(url)
            if retry_after:
                if len(self._polls) >= 10_000 and key not in self._polls:
                    self._polls.pop(next(iter(self._polls)))  # bounded: oldest goes
                self._polls[key] = retry_after
            else:
                self._polls.pop(key, None)


class PacingPolicy(AsyncHTTPPolicy[Any, Any]):
    """Per-retry policy: wait for an ARM token, send, learn from the answer."""

    def __init__(self, pacer: ArmPacer) -> None:
        super().__init__()
        self._pacer = pacer

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        http = request.http_request
        match = _SUBSCRIPTION.search(http.url.split("?", 1)[0])
        subscription = match.group(1) if match else None
        kind = category(http.method)
        budget = self._pacer.budget(subscription, kind) if subscription is not None else None
        if budget is not None:
            try:
                await self._wait_turn(budget, kind)
            finally:
                budget.sent()  # sent now, or cancelled: either way no longer queued
        response = await self.next.send(request)
        raw = response.http_response
        self._pacer.record(subscription, http.method, http.url, raw.status_code, raw.headers)
        return response

    async def _wait_turn(self, budget: Budget, kind: str) -> None:
        wait = budget.reserve(self._pacer.now())
        due = self._pacer.now() + wait
        shift = budget.shift
        while wait > 0:
            self._pacer.waited_seconds += wait
            if kind == "reads":
                await asyncio.sleep(wait)
            else:
                # A write or delete waits up to a burst's length behind the others:
                # asleep, not calling, its pass's Azure slot goes to others meanwhile
                # (the reads confirming pools already created). A read keeps its slot,
                # so reads queue no deeper than the slots and none (a shared account
                # read that every pass awaits) lands far behind them.
                async with slot_released():
                    await asyncio.sleep(wait)
            # Another client took tokens meanwhile (Budget.observe): the turn moved back.
            wait, shift = budget.shift - shift, budget.shift
            due += wait
        if kind == "reads":
            return
        # Sent well after its turn (no slot free at once), its token was counted as spent
        # back then. Behind a queue that is harmless; but if the estimate refilled to its
        # cap meanwhile, the token was lost to the cap: take a fresh one, or late writes
        # meet a bucket the estimate believes full.
        now = self._pacer.now()
        if now - due > LATE_SECONDS and budget.refilled_to_cap(now):
            budget.sent()  # the first reservation is spent; this one takes its place
            wait = budget.reserve(now)
            if wait > 0:
                async with slot_released():
                    await asyncio.sleep(wait)
