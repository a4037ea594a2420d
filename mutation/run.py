"""Run cosmic-ray over a plan: each module against the unit tests that own it.

Usage: python mutation/run.py PLAN [--fresh] [--rerun-survivors] [--only SUBSTRING ...]

A plan (mutation/plan.toml, mutation/smoke.toml) lists modules and their tests. Each
module gets its own cosmic-ray config and session in .mutation/; a session that exists is
resumed (only the mutants without a result run). Mutants inside annotations that the
module never evaluates (PEP 563) are recorded as skipped before the run: they cannot
change behaviour, and they are a quarter of all mutants. Exits 1 when a mutant survives
(and is not a known equivalent, see mutation/equivalents.toml), so a smoke can gate CI.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult

sys.path.insert(0, str(Path(__file__).parent))
from report import annotation_spans, known_equivalent, session_path

COSMIC_RAY = Path(sys.executable).with_name("cosmic-ray")
FORKSERVER = Path(__file__).with_name("forkserver.py")
SOCKET = Path(".mutation/forkserver.sock")


def config_text(module: dict[str, Any], plan: dict[str, Any]) -> str:
    tests = " ".join(module["tests"])
    return (f'[cosmic-ray]\nmodule-path = "{module["path"]}"\n'
            f'timeout = {plan["timeout"]}\nexcluded-modules = []\n'
            f'test-command = "{sys.executable} {FORKSERVER} {SOCKET} {plan["pytest"]} {tests}"\n\n'
            '[cosmic-ray.distributor]\nname = "local"\n')


def skip_annotations(session: Path) -> int:
    with use_db(str(session), WorkDB.Mode.open) as db:
        done = {job for job, _ in db.results}
        skip = [item.job_id for item in db.work_items if item.job_id not in done
                and any(start <= tuple(item.mutations[0].start_pos)
                        and tuple(item.mutations[0].end_pos) <= end
                        for start, end in annotation_spans(Path(item.mutations[0].module_path)))]
        if skip:
            db.set_multiple_results(skip, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                     output="annotation"))
    return len(skip)


def survivors(session: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(session) as db:
        return list(db.execute(
            "SELECT s.module_path, s.start_pos_row, r.diff FROM work_results r "
            "JOIN mutation_specs s USING (job_id) WHERE lower(r.test_outcome) = 'survived'"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("plan")
    parser.add_argument("--fresh", action="store_true", help="discard earlier sessions")
    parser.add_argument("--rerun-survivors", action="store_true",
                        help="run the survivors again (after adding tests)")
    parser.add_argument("--only", nargs="*", default=[], help="modules whose path contains")
    args = parser.parse_args()
    plan = tomllib.loads(Path(args.plan).read_text())
    missed = 0
    SOCKET.parent.mkdir(exist_ok=True)
    SOCKET.unlink(missing_ok=True)
    server = subprocess.Popen([sys.executable, FORKSERVER, "serve", SOCKET])
    try:
        while not SOCKET.exists():
            if server.poll() is not None:
                raise SystemExit("mutation/forkserver.py did not start")
            time.sleep(0.1)
        missed = run(plan, args)
    finally:
        server.terminate()
        server.wait()
    return 1 if missed else 0


def run(plan: dict[str, Any], args: argparse.Namespace) -> int:
    missed = 0
    for module in plan["module"]:
        if args.only and not any(o in module["path"] for o in args.only):
            continue
        session = session_path(module["path"], Path(plan.get("sessions", ".mutation")))
        config = session.with_suffix(".toml")
        session.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(config_text(module, plan))
        if args.fresh or not session.exists():
            session.unlink(missing_ok=True)
            subprocess.run([COSMIC_RAY, "init", config, session], check=True)
            print(f"{module['path']}: {skip_annotations(session)} annotation mutants skipped",
                  flush=True)
        elif args.rerun_survivors:
            with sqlite3.connect(session) as db:
                db.execute("DELETE FROM work_results WHERE lower(test_outcome) = 'survived'")
        subprocess.run([COSMIC_RAY, "exec", config, session], check=True)
        left = [s for s in survivors(session) if not known_equivalent(s[0], s[2])]
        print(f"{module['path']}: {len(left)} survivors", flush=True)
        missed += len(left)
    return missed


if __name__ == "__main__":
    sys.exit(main())
