"""One vocabulary: the reason catalogue, the Argo CD health tables and the troubleshooting
table say the same thing, and the operator writes no reason outside the catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from batch_image_operator.models.reasons import NEEDS_HUMAN, Reason, severity

ROOT = Path(__file__).resolve().parents[2]
# Needs a human, but not through a TERMINAL entry: Argo CD's BatchPool script turns
# WithinLimits=False (LimitExceeded) Degraded by its own branch, and SourceInvalid is
# only an event beside a SourceValid condition that carries the specific reason.
NOT_IN_LUA_TABLES = {Reason.LIMIT_EXCEEDED, Reason.SOURCE_INVALID}


def lua_terminal(kind: str) -> set[str]:
    text = (ROOT / "argocd" / "health" / f"batchimage.dev_{kind}" / "health.lua").read_text()
    start = text.index("local TERMINAL = {")
    block = text[start:text.index("}", start)]
    return set(re.findall(r"^\s+([A-Za-z]+) = \"", block, re.M))


def test_argo_cd_shows_degraded_exactly_for_the_reasons_that_need_a_human() -> None:
    tables = lua_terminal("BatchPool") | lua_terminal("ManagedImage")
    assert tables <= {r.value for r in NEEDS_HUMAN}
    assert tables | {r.value for r in NOT_IN_LUA_TABLES} == {r.value for r in NEEDS_HUMAN}


def test_troubleshooting_lists_exactly_the_catalogue_with_its_severities() -> None:
    text = (ROOT / "docs" / "troubleshooting.md").read_text()
    table = text[text.index("## Every reason"):]
    rows = dict(re.findall(r"^\| `([A-Za-z]+)` \| (Info|Warning|Error) \|", table, re.M))
    assert rows == {r.value: severity(r).value for r in Reason}


def test_no_reason_is_written_as_a_bare_string() -> None:
    """Conditions and events take a Reason (mypy checks the types); this catches the
    literal that slips in where a str is accepted, such as a reason= keyword."""
    known = {r.value for r in Reason}
    offenders = []
    for path in (ROOT / "operator" / "batch_image_operator").rglob("*.py"):
        if path.name == "reasons.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in (
                    "Condition", "Event") and len(node.args) >= 2:
                reason = node.args[2] if getattr(node.func, "id", "") == "Condition" \
                    and len(node.args) >= 3 else node.args[1]
                if isinstance(reason, ast.Constant) and reason.value in known:
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
