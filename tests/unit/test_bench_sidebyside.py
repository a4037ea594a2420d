"""bench/sidebyside.py's arithmetic: which figures it takes from each tree's report
(an older bench lacks some), and the medians and ratio it prints."""

from __future__ import annotations

import importlib.util
import json
import subprocess
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


def test_the_trees_alternate_and_each_gets_its_arguments(
        sidebyside: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real worktree of HEAD as the reference, the benches themselves faked: the
    reference goes first in odd rounds, arguments after -- reach both trees, those of
    --current-args this tree only, and the worktree is gone afterwards."""
    calls: list[tuple[str, str, list[str]]] = []

    def bench(tree: Path, tag: str, workdir: Path, extra: list[str]) -> dict[str, object]:
        assert (tree / "bench" / "run.py").is_file()  # a whole tree, checked out
        calls.append((tag, "this" if tree == sidebyside.ROOT else "worktree", list(extra)))
        return report(4.0 if tag.startswith("reference") else 5.0, 10.0)

    monkeypatch.setattr(sidebyside, "_bench", bench)
    monkeypatch.setattr(sidebyside.tempfile, "mkdtemp", lambda prefix: str(tmp_path / "work"))
    out = tmp_path / "out.json"
    assert sidebyside.main(["--reference", "HEAD", "--runs", "2", "--out", str(out),
                            "--current-args=--fairness-probes 0", "--", "--small"]) == 0
    assert calls == [("reference-1", "worktree", ["--small"]),
                     ("current-1", "this", ["--small", "--fairness-probes", "0"]),
                     ("current-2", "this", ["--small", "--fairness-probes", "0"]),
                     ("reference-2", "worktree", ["--small"])]
    saved = json.loads(out.read_text())
    assert len(saved["pairs"]) == 2 and saved["currentOnlyArgs"] == ["--fairness-probes", "0"]
    assert saved["summary"]["ratioToFloor"]["currentOverReference"] == 1.25
    assert not (tmp_path / "work" / "reference").exists()


def test_a_failed_run_keeps_the_finished_rounds_and_removes_the_worktree(
        sidebyside: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def bench(tree: Path, tag: str, workdir: Path, extra: list[str]) -> dict[str, object]:
        if tag == "current-2":
            raise subprocess.CalledProcessError(1, ["bench/run.py"])
        return report(4.0, 10.0)

    monkeypatch.setattr(sidebyside, "_bench", bench)
    monkeypatch.setattr(sidebyside.tempfile, "mkdtemp", lambda prefix: str(tmp_path / "work"))
    out = tmp_path / "out.json"
    with pytest.raises(subprocess.CalledProcessError):
        sidebyside.main(["--reference", "HEAD", "--runs", "2", "--out", str(out)])
    assert len(json.loads(out.read_text())["pairs"]) == 1
    assert not (tmp_path / "work" / "reference").exists()
