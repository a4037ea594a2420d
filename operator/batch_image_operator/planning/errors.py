"""Classify Azure errors into what the operator should do about them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorKind(Enum):
    NOT_FOUND = "not-found"
    THROTTLED = "throttled"      # 429: back off as told
    TRANSIENT = "transient"      # 5xx, timeouts: retry with backoff
    CONFLICT = "conflict"        # 409/412: state moved under us; re-read
    AUTH = "auth"                # 401/403: credentials or RBAC; needs a human
    INVALID = "invalid"          # 400: the spec asks for something Azure refuses
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classified:
    kind: ErrorKind
    code: str
    message: str
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind in {ErrorKind.THROTTLED, ErrorKind.TRANSIENT, ErrorKind.CONFLICT,
                             ErrorKind.UNKNOWN}


def classify(status: int | None, code: str | None, message: str,
             retry_after: float | None = None) -> Classified:
    code = code or ""
    if status == 404 or code in {"ResourceNotFound", "NotFound", "PoolNotFound"}:
        kind = ErrorKind.NOT_FOUND
    elif status == 429:
        kind = ErrorKind.THROTTLED
    elif status in {401, 403}:
        kind = ErrorKind.AUTH
    elif status in {409, 412}:
        kind = ErrorKind.CONFLICT
    elif status is not None and 400 <= status < 500:
        kind = ErrorKind.INVALID
    elif status is None or status >= 500:
        kind = ErrorKind.TRANSIENT
    else:
        kind = ErrorKind.UNKNOWN
    return Classified(kind, code, message, retry_after)
