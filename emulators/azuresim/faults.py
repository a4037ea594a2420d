"""Injected failures: the next N matching requests fail, are delayed, or lose their connection."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# The request key under which an injected nextLink reaches the data-plane handler.
NEXT_LINK = "azuresim.next_link"

CODES = {
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class Fault:
    method: str
    path_regex: re.Pattern[str]
    count: int
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    reset: bool = False
    # The matching Batch list answer carries this odata.nextLink (a hostile service).
    next_link: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.count > 0
            and self.method in ("*", method.upper())
            and self.path_regex.search(path) is not None
        )

    def describe(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "pathRegex": self.path_regex.pattern,
            "count": self.count,
            "status": self.status,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "reset": self.reset,
            "nextLink": self.next_link,
        }


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        status = spec.get("status")
        fault = Fault(
            method=str(spec.get("method", "*")).upper(),
            path_regex=re.compile(str(spec.get("pathRegex", ".*")), re.IGNORECASE),
            count=int(spec.get("count", 1)),
            status=int(status) if status is not None else None,
            retry_after=int(spec["retryAfter"]) if spec.get("retryAfter") is not None else None,
            latency_ms=int(spec.get("latencyMs", 0)),
            reset=bool(spec.get("reset", False)),
            next_link=str(spec["nextLink"]) if spec.get("nextLink") else None,
        )
        if fault.status is None and not fault.reset and not fault.latency_ms \
                and not fault.next_link:
            raise ValueError("a fault needs status, reset, latencyMs or nextLink")
        self.rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching rule, consuming one of its uses."""
        for rule in self.rules:
            if rule.matches(method, path):
                rule.count -= 1
                return rule
        return None

    def clear(self) -> None:
        self.rules.clear()
