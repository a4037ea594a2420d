"""Reading one environment value: a clear ConfigError naming the variable, never a
crash or a silent default, for anything malformed."""

from __future__ import annotations

import re
from collections.abc import Mapping


class ConfigError(ValueError):
    pass


def seconds(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number of seconds, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{key} must be positive")
    return value


def count(env: Mapping[str, str], key: str, default: int) -> int:
    """A whole number of at least 1 (connections, retries, limits, cache sizes): read as
    seconds, ``0.5`` became 0, which refused every pool as a limit or granted nothing as
    a connection pool."""
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{key} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def optional_count(env: Mapping[str, str], key: str) -> int | None:
    raw = env.get(key) or ""
    if not raw:
        return None
    if not raw.isdigit():
        raise ConfigError(f"{key} must be a whole number, got {raw!r}")
    return int(raw)


def port(env: Mapping[str, str], key: str, default: int) -> int | None:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"off", "none", "disabled"}:
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise ConfigError(f"{key} must be a port number or 'off', got {raw!r}")
    return int(raw)


def host(env: Mapping[str, str], key: str) -> str:
    """An IP address or host name to bind; anything else (a URL, a port) is refused."""
    raw = env.get(key) or "127.0.0.1"
    if not re.match(r"^(\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)$", raw):
        raise ConfigError(f"{key} must be an IP address or host name, got {raw!r}")
    return raw.strip("[]")


def choice(env: Mapping[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    raw = env.get(key) or default
    if raw not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {raw!r}")
    return raw


def dns_name(env: Mapping[str, str], key: str) -> str | None:
    raw = env.get(key) or None
    if raw is not None and not re.match(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", raw):
        raise ConfigError(f"{key} must be a Kubernetes object name, got {raw!r}")
    return raw


def host_suffix(env: Mapping[str, str], key: str, default: str) -> str:
    """host[:port] (a leading dot is allowed); lower-cased for comparison."""
    raw = env.get(key)
    value = (raw or default).strip().lstrip(".").lower()
    if not re.match(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?$", value):
        raise ConfigError(f"{key} must be a host name suffix (e.g. {default}), optionally "
                          f"with :port, got {raw!r}")
    return value
