"""bench/sidebyside.py's arithmetic: which figures it takes from each tree's report
(an older bench lacks some), and the medians and ratio it prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sidebyside.py"


@pytest.fixture(scope="module")
def sidebyside() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sidebyside", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report(ratio: float, cpu: float, p99: float | None = None,
           pools: int = 1000, images: int = 50) -> dict[str, object]:
    return {"params": {"pools": pools, "images": images},
            "create": {"ratioToFloor": ratio, "allPoolsReadySeconds": ratio * 2.5,
                       "cpuSeconds": {"operator": cpu, "kubesim": 4.0}},
            **({"fairness": {"p99Seconds": p99}} if p99 is not None else {})}


def test_cpu_per_resource_is_computed_alike_for_both_trees(sidebyside: ModuleType) -> None:
    # An older bench reports operator CPU seconds but not per resource, nor fairness.
    old = sidebyside.run_figures(report(4.3, 8.4))
    assert old["operatorCpuMsPerResource"] == 8.0
    assert old["otherNamespaceP99Seconds"] is None
    new = sidebyside.run_figures(report(5.0, 10.5, 0.8))
    assert new["otherNamespaceP99Seconds"] == 0.8


def test_medians_and_their_ratio(sidebyside: ModuleType) -> None:
    figures = sidebyside.run_figures
    pairs = [(figures(report(r, c)), figures(report(r2, c2)))
             for r, c, r2, c2 in [(4.0, 8.0, 5.0, 10.0), (5.0, 9.0, 6.5, 12.0),
                                  (6.0, 12.0, 6.0, 11.0)]]
    summary = sidebyside.summarize(pairs)
    assert summary["ratioToFloor"] == {"reference": 5.0, "current": 6.0,
                                       "currentOverReference": 1.2}
    assert summary["operatorCpuSeconds"]["currentOverReference"] == \
        pytest.approx(11 / 9, abs=1e-3)
    assert summary["otherNamespaceP99Seconds"] == {"reference": None, "current": None,
                                                   "currentOverReference": None}


def test_pool_and_image_counts_come_from_each_report(sidebyside: ModuleType) -> None:
    # A --small run, or --pools given to one tree only: each divides by its own count.
    assert sidebyside.run_figures(report(2.0, 0.24, pools=20, images=4))[
        "operatorCpuMsPerResource"] == 10.0
    assert sidebyside.run_figures(report(5.0, 50.5, pools=5000, images=50))[
        "operatorCpuMsPerResource"] == 10.0
