"""This tree against another commit, `make bench --create-only` runs in alternation.

This machine's speed drifts by up to ±40 % from one minute to the next, so one run of
each tree says little: a figure is only worth comparing with a run of the other tree
made minutes apart. This runs both trees' own bench, alternating (reference first in
odd rounds, this tree first in even ones, so a drift favours neither), and reports each
pair and the ratio of the medians.

    python bench/sidebyside.py --reference 673ec1d --runs 4 [-- extra bench args]

The reference is checked out in a temporary git worktree and run with this tree's
virtualenv, its own `operator/` and `emulators/` first on PYTHONPATH (so its operator,
emulators and bench are its own, so the figures compare the two whole setups; the
Python packages are this tree's). Take an even number of runs, so that each tree goes
first equally often. Extra bench
arguments go to both trees' bench, so they must exist in both; `--current-args` go to
this tree's only (e.g. "--fairness-probes 0": an older bench has no second namespace, so
this one then runs the same objects). Results: a table, and JSON (`--out`, default
bench/results/sidebyside.json) rewritten after each round; each run's report and log
stay in the work directory printed at the start.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

MEASURES = ("ratioToFloor", "allPoolsReadySeconds", "operatorCpuSeconds",
            "operatorCpuMsPerResource", "imagesReadySeconds", "otherNamespaceP99Seconds")


def run_figures(report: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures compared, from one bench report (older benches lack some fields)."""
    params = report.get("params") or {}
    resources = int(params.get("pools") or 0) + int(params.get("images") or 0)
    create = report.get("create") or {}
    cpu = (create.get("cpuSeconds") or {}).get("operator")
    fairness = report.get("fairness") or {}
    return {
        "ratioToFloor": create.get("ratioToFloor"),
        "allPoolsReadySeconds": create.get("allPoolsReadySeconds"),
        "operatorCpuSeconds": cpu,
        # Computed here the same way for both trees (older benches do not report it).
        "operatorCpuMsPerResource": round(1000 * cpu / resources, 2)
        if cpu and resources else None,
        "imagesReadySeconds": create.get("imagesReadySeconds"),
        "otherNamespaceP99Seconds": fairness.get("p99Seconds"),
    }


def summarize(pairs: Sequence[tuple[Mapping[str, float | None], Mapping[str, float | None]]]
              ) -> dict[str, dict[str, float | None]]:
    """Per measure: each tree's median (over its runs that report it) and this tree's
    median over the reference's."""
    summary: dict[str, dict[str, float | None]] = {}
    for measure in MEASURES:
        ref = [r[measure] for r, _ in pairs if r.get(measure) is not None]
        cur = [c[measure] for _, c in pairs if c.get(measure) is not None]
        ref_median = round(statistics.median(ref), 3) if ref else None  # type: ignore[type-var]
        cur_median = round(statistics.median(cur), 3) if cur else None  # type: ignore[type-var]
        summary[measure] = {
            "reference": ref_median, "current": cur_median,
            "currentOverReference": round(cur_median / ref_median, 3)
            if ref_median and cur_median is not None else None}
    return summary


def _bench(tree: Path, tag: str, workdir: Path, extra: Sequence[str]) -> dict[str, Any]:
    out = workdir / f"{tag}.json"
    # No empty entry: one would put the working directory ahead of the standard library.
    paths = [str(tree / "operator"), str(tree / "emulators"),
             *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    with open(workdir / f"{tag}.log", "w") as log:
        subprocess.run([sys.executable, str(tree / "bench" / "run.py"), "--create-only",
                        "--out", str(out), "--workdir", str(workdir / tag), *extra],
                       cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", required=True, help="a commit, tag or branch")
    parser.add_argument("--runs", type=int, default=4, help="runs of each tree (even)")
    parser.add_argument("--current-args", default="",
                        help="arguments for this tree's bench only, one string")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "sidebyside.json"))
    parser.add_argument("extra", nargs="*", help="after --: arguments for both benches")
    args = parser.parse_args(argv)
    commit, current = (subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                                      capture_output=True, text=True).stdout.strip()
                       for ref in (args.reference, "HEAD"))
    # What this tree runs differs from its commit (new files included).
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "operator", "emulators",
                            "bench/run.py"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.strip() != ""
    only_current = shlex.split(args.current_args)
    pairs: list[tuple[dict[str, float | None], dict[str, float | None]]] = []
    # Kept after a failure: each run's log and report say what went wrong.
    workdir = Path(tempfile.mkdtemp(prefix="bio-sidebyside-"))
    reference = workdir / "reference"
    print(f"work directory {workdir}", flush=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(reference), commit],
                   cwd=ROOT, check=True)
    try:
        for i in range(args.runs):
            order = [("reference", reference), ("current", ROOT)]
            figures: dict[str, dict[str, float | None]] = {}
            for name, tree in order if i % 2 == 0 else order[::-1]:
                extra = [*args.extra, *(only_current if name == "current" else [])]
                figures[name] = run_figures(_bench(tree, f"{name}-{i + 1}", workdir, extra))
                print(f"round {i + 1} {name:9}", "  ".join(
                    f"{m} {_fmt(v)}" for m, v in figures[name].items()), flush=True)
            pairs.append((figures["reference"], figures["current"]))
            Path(args.out).write_text(json.dumps({
                "reference": commit, "current": current + ("+changes" if dirty else ""),
                "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "benchArgs": ["--create-only", *args.extra], "currentOnlyArgs": only_current,
                "pairs": [{"reference": r, "current": c} for r, c in pairs],
                "summary": summarize(pairs)}, indent=2) + "\n")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(reference)],
                       cwd=ROOT, check=False, capture_output=True)
    print(f"\nmedians over {len(pairs)} runs each (reference {commit}):")
    for measure, row in summarize(pairs).items():
        print(f"  {measure:26} reference {_fmt(row['reference']):>8}  "
              f"current {_fmt(row['current']):>8}  ratio {_fmt(row['currentOverReference'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
