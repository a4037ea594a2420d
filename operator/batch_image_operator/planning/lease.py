"""Leader election on a ``coordination.k8s.io/v1`` Lease: the decisions, without I/O.

The rules are client-go's ``tools/leaderelection``:

- A Lease held by someone else is taken over only once it has not *changed* for its
  ``leaseDurationSeconds``, measured on this process's own monotonic clock from when
  this process last saw it change. ``renewTime`` is another machine's wall clock and is
  never compared with ours, so clock skew cannot shorten a lease.
- Every write is a PUT carrying the resourceVersion that was read, so two candidates
  racing for an expired Lease cannot both win (the loser gets 409 Conflict).
- The holder renews every retry period. Its :class:`Fence` stays open only until
  ``renew deadline`` after the *sending* of its last successful renewal: the write
  landed after it was sent, and others start counting only once they observe it, so a
  fence shorter than the lease closes before anyone else can take over.
- Releasing (graceful stop) writes an empty holder and a 1 s duration, so a standby
  takes over on its next try instead of waiting out the full lease.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class LeaseTimings:
    """client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def problems(self) -> list[str]:
        """Why these timings cannot fence (client-go refuses the same combinations)."""
        out = []
        if self.lease_duration <= self.renew_deadline:
            out.append("the lease duration must be longer than the renew deadline")
        if self.renew_deadline <= self.retry_period:
            out.append("the renew deadline must be longer than the retry period")
        if self.lease_duration < 1:
            out.append("the lease duration must be at least 1 second")
        return out


@dataclass(frozen=True)
class LeaseRecord:
    """The election-relevant part of a Lease (its ``spec`` and resourceVersion)."""

    holder: str = ""
    duration_seconds: int = 0
    acquire_time: str | None = None
    renew_time: str | None = None
    transitions: int = 0
    resource_version: str = ""

    @classmethod
    def from_lease(cls, lease: Mapping[str, Any]) -> LeaseRecord:
        spec = lease.get("spec") or {}
        meta = lease.get("metadata") or {}
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            duration_seconds=_int(spec.get("leaseDurationSeconds")),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=_int(spec.get("leaseTransitions")),
            resource_version=str(meta.get("resourceVersion") or ""),
        )

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"holderIdentity": self.holder,
                                "leaseDurationSeconds": self.duration_seconds,
                                "leaseTransitions": self.transitions}
        if self.acquire_time:
            spec["acquireTime"] = self.acquire_time
        if self.renew_time:
            spec["renewTime"] = self.renew_time
        return spec

    def same_election(self, other: LeaseRecord) -> bool:
        """Equal as an election record (the resourceVersion aside)."""
        return replace(self, resource_version="") == replace(other, resource_version="")


@dataclass(frozen=True)
class Observation:
    """The Lease as this process last saw it, and when (monotonic) it last changed."""

    record: LeaseRecord
    changed_at: float


def observe(previous: Observation | None, record: LeaseRecord, now: float) -> Observation:
    """The clock restarts only when the record changes: a holder that stops renewing
    leaves it unchanged, and its lease runs out on *our* clock."""
    if previous is not None and previous.record.same_election(record):
        return Observation(record, previous.changed_at)
    return Observation(record, now)


class Action(enum.Enum):
    CREATE = "create"     # no Lease yet: create it, holding it
    ACQUIRE = "acquire"   # free or expired: take it over (transitions + 1)
    RENEW = "renew"       # ours: refresh renewTime
    WAIT = "wait"         # someone else holds a live lease


@dataclass(frozen=True)
class Step:
    action: Action
    # What to write (CREATE/ACQUIRE/RENEW), with the resourceVersion to PUT against.
    write: LeaseRecord | None = None
    # WAIT: who holds it, and seconds until it would expire if not renewed.
    holder: str = ""
    expires_in: float = 0.0


def decide(seen: Observation | None, me: str, now: float, wall: datetime,
           timings: LeaseTimings) -> Step:
    """client-go's tryAcquireOrRenew. ``seen`` None: the Lease does not exist;
    ``now`` is monotonic, ``wall`` the time written into the record."""
    stamp = micro_time(wall)
    duration = max(1, int(timings.lease_duration))
    if seen is None:
        return Step(Action.CREATE, LeaseRecord(me, duration, stamp, stamp, 0))
    old = seen.record
    if old.holder == me:
        return Step(Action.RENEW, replace(old, duration_seconds=duration, renew_time=stamp,
                                          acquire_time=old.acquire_time or stamp))
    expires_in = seen.changed_at + old.duration_seconds - now
    if old.holder and expires_in > 0:
        return Step(Action.WAIT, holder=old.holder, expires_in=expires_in)
    return Step(Action.ACQUIRE, replace(old, holder=me, duration_seconds=duration,
                                        acquire_time=stamp, renew_time=stamp,
                                        transitions=old.transitions + 1))


def released(held: LeaseRecord, wall: datetime) -> LeaseRecord:
    """The record a graceful stop writes: no holder, 1 s, so a standby need not wait."""
    stamp = micro_time(wall)
    return replace(held, holder="", duration_seconds=1, acquire_time=stamp, renew_time=stamp)


class Fence:
    """Open while this process may write to Azure: from a successful acquire or renewal
    until ``renew_deadline`` after that write was *sent*; closed for good once released
    or lost. Read by every Azure call on its own clock, so a starved or paused event
    loop (GC, SIGSTOP, CPU throttling) cannot keep it open: the moment the process runs
    again, the deadline has passed."""

    def __init__(self, renew_deadline: float, clock: Callable[[], float]) -> None:
        self._deadline = renew_deadline
        self._clock = clock
        self._until = float("-inf")
        self._closed = False

    def renewed(self, sent_at: float) -> None:
        if not self._closed:
            self._until = max(self._until, sent_at + self._deadline)

    def close(self) -> None:
        self._closed = True
        self._until = float("-inf")

    def is_open(self) -> bool:
        return not self._closed and self._clock() < self._until

    def remaining(self) -> float:
        """Seconds the fence stays open without another renewal (<= 0: closed)."""
        return float("-inf") if self._closed else self._until - self._clock()


def micro_time(wall: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 in UTC with six fractional digits."""
    return wall.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
