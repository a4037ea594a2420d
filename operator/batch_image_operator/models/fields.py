"""Reading one field of a spec mapping, collecting errors instead of raising (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import FieldError


def str_field(spec: Mapping[str, Any], key: str, errors: list[FieldError], path: str,
         *, required: bool = False, default: str | None = None) -> str:
    value = spec.get(key, default)
    if value is None:
        if required:
            errors.append(FieldError(f"{path}.{key}", "Required value"))
        return ""
    if not isinstance(value, str):
        errors.append(FieldError(f"{path}.{key}", "must be a string"))
        return ""
    return value


def enum_field(value: str, allowed: tuple[str, ...], path: str, errors: list[FieldError]) -> None:
    if value and value not in allowed:
        errors.append(FieldError(path, f"Unsupported value {value!r}: supported {list(allowed)}"))
