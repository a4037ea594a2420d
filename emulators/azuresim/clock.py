"""Simulated time: wall-clock based so it survives a restart, plus an offset tests can advance."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        # Only forward: going back would un-finish operations clients already saw finish.
        self.offset += max(0.0, seconds)

    def iso(self, at: float | None = None) -> str:
        return iso(self.now() if at is None else at)


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def http_date(iso_text: str) -> str:
    """RFC 1123 form of an ISO timestamp, for ``Last-Modified`` headers."""
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso_text).astimezone(UTC), usegmt=True)
