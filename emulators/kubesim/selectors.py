"""Label and field selectors, parsed once per request and matched per object."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_.-]*)\s*$")


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(ch)
    terms.append("".join(current))
    return [t for t in terms if t.strip()]


def _label_eq(key: str, value: str) -> Matcher:
    return lambda labels: key in labels and labels[key] == value


def _label_neq(key: str, value: str) -> Matcher:
    return lambda labels: labels.get(key) != value


def _label_in(key: str, values: set[str]) -> Matcher:
    return lambda labels: key in labels and labels[key] in values


def _label_notin(key: str, values: set[str]) -> Matcher:
    return lambda labels: key not in labels or labels[key] not in values


def _label_exists(key: str) -> Matcher:
    return lambda labels: key in labels


def _label_absent(key: str) -> Matcher:
    return lambda labels: key not in labels


def _field_eq(path: str, value: str) -> Matcher:
    return lambda obj: _field_value(obj, path) == value


def _field_neq(path: str, value: str) -> Matcher:
    return lambda obj: _field_value(obj, path) != value


def parse_label_selector(selector: str | None) -> Matcher:
    if not selector:
        return lambda _labels: True
    checks: list[Matcher] = []
    for term in _split_terms(selector):
        eq = _EQ_RE.match(term)
        if eq:
            key, op, value = eq.groups()
            if op == "!=":
                checks.append(_label_neq(key, value))
            else:
                checks.append(_label_eq(key, value))
            continue
        st = _SET_RE.match(term)
        if not st:
            raise bad_request(f"unable to parse requirement: {term!r}")
        neg, key, op, values = st.groups()
        if op:
            if neg:
                raise bad_request(f"unable to parse requirement: {term!r}")
            vals = {v.strip() for v in values.split(",") if v.strip()}
            if op == "in":
                checks.append(_label_in(key, vals))
            else:
                checks.append(_label_notin(key, vals))
        elif neg:
            checks.append(_label_absent(key))
        else:
            checks.append(_label_exists(key))
    return lambda labels: all(check(labels) for check in checks)


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(selector: str | None) -> Matcher:
    """Field selectors compare dotted paths; the real server restricts which paths
    each kind supports, kubesim accepts any path (missing values compare as "")."""
    if not selector:
        return lambda _obj: True
    checks: list[Matcher] = []
    for term in _split_terms(selector):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", term)
        if not m:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        path, op, value = m.groups()
        if op == "!=":
            checks.append(_field_neq(path, value))
        else:
            checks.append(_field_eq(path, value))
    return lambda obj: all(check(obj) for check in checks)


class ObjectFilter:
    """Namespace + label + field selection for list and watch."""

    def __init__(self, namespace: str | None, labels: str | None, fields: str | None) -> None:
        self.namespace = namespace
        self._labels = parse_label_selector(labels)
        self._fields = parse_field_selector(fields)

    def __call__(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self._labels(meta.get("labels") or {}) and self._fields(obj)
