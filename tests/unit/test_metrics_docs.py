"""docs/metrics.md's alerts and docs/grafana-dashboard.json query only series the
operator serves (the table of docs/metrics.md, itself checked against a live operator
by tests/e2e/test_metrics_documented.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "metrics.md").read_text()
DASHBOARD = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
SERIES = re.compile(r"\b((?:batchimage|process|python)_[a-z0-9_]+)")
HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def table() -> dict[str, str]:
    """series -> type, from the table under "## Every series"."""
    section = DOC.split("## Every series", 1)[1].split("\n#", 1)[0]
    return dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([a-z]+)", section, re.M))


def queried(expr: str) -> set[str]:
    """The series an expression reads, histogram parts folded into their histogram."""
    types = table()
    names = set()
    for name in SERIES.findall(expr):
        for part in HISTOGRAM_PARTS:
            base = name.removesuffix(part)
            if base != name and types.get(base) == "histogram":
                name = base
        names.add(name)
    return names


def alert_rules() -> list[dict[str, str]]:
    block = DOC.split("```yaml", 1)[1].split("```", 1)[0]
    rule = yaml.safe_load(block)
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]


def test_the_table_is_there() -> None:
    types = table()
    assert types["batchimage_azure_request_duration_seconds"] == "histogram"
    assert types["batchimage_pool_current_nodes"] == "gauge"


def test_every_alert_queries_documented_series() -> None:
    rules = alert_rules()
    assert len(rules) >= 8
    for rule in rules:
        used = queried(rule["expr"])
        assert used, rule["alert"]
        assert used <= set(table()), (rule["alert"], used - set(table()))
        assert rule["alert"] and rule["annotations"]["summary"]


def test_the_dashboard_queries_documented_series_and_is_importable() -> None:
    panels = DASHBOARD["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    assert {v["name"] for v in DASHBOARD["templating"]["list"]} == {"datasource", "job"}
    used: set[str] = set()
    for expr in dashboard_exprs():
        assert expr.count("(") == expr.count(")"), expr
        used |= queried(expr)
    assert used <= set(table()), used - set(table())
    # Every operator series (not the runtime collectors) has a panel.
    ours = {n for n in table() if n.startswith("batchimage_")}
    assert ours - used == set()


def test_the_checks_have_teeth() -> None:
    assert queried("rate(batchimage_reconcile_duration_seconds_bucket[5m])") == {
        "batchimage_reconcile_duration_seconds"}
    assert not queried("rate(batchimage_no_such_series_total[5m])") <= set(table())
