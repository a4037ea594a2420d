"""Run pytest for each mutant in a fork of a warm process: a tenth of the time per mutant.

Starting pytest with the operator's dependencies (Kopf, the Azure SDKs, aiohttp) costs
over a second of CPU per mutant, three times what the unit tests themselves take. The
server imports those once; each request forks it, and the child imports the operator's
own modules afresh from disk (so it sees the mutant cosmic-ray just wrote) and runs
pytest. Output and exit status go back to the client, which cosmic-ray runs as its
test command:

    python mutation/forkserver.py serve SOCKET        # started by mutation/run.py
    python mutation/forkserver.py SOCKET PYTEST-ARGS  # the test command
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import pkgutil
import signal
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Far above any unit test run, and below the plan's cosmic-ray timeout (30 s), so a
# mutant that loops is stopped before the next request queues behind it.
CHILD_SECONDS = 25


def _local(module: object) -> bool:
    file = getattr(module, "__file__", None) or ""
    return file.startswith((str(REPO / "operator"), str(REPO / "tests")))


def warm() -> None:
    """Import the third-party modules the operator and the tests use, then forget every
    module of this repository so that each child imports those from disk."""
    import pytest  # noqa: F401

    package = importlib.import_module("batch_image_operator")
    for info in pkgutil.walk_packages(package.__path__, "batch_image_operator."):
        with contextlib.suppress(Exception):
            importlib.import_module(info.name)
    for name in [n for n, m in sys.modules.items() if _local(m)]:
        del sys.modules[name]
    importlib.invalidate_caches()


def child(request: dict[str, object], out: int) -> None:
    os.chdir(str(request["cwd"]))
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.dont_write_bytecode = True  # a mutant's bytecode must never be cached
    signal.alarm(CHILD_SECONDS)
    import pytest

    code = pytest.main([str(a) for a in request["args"]])  # type: ignore[attr-defined]
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


def serve(path: str) -> None:
    warm()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    while True:
        conn, _ = server.accept()
        with conn:
            request = json.loads(conn.makefile().readline())
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:
                server.close()
                os.close(read)
                child(request, write)
            os.close(write)
            with os.fdopen(read, "rb") as pipe:
                output = pipe.read()
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):  # cosmic-ray gave up on the client
                conn.sendall(json.dumps({"code": code,
                                         "output": output.decode(errors="replace")}).encode())


def client(path: str, args: list[str]) -> int:
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(path)
        conn.sendall(json.dumps({"cwd": os.getcwd(), "args": args}).encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
        answer = json.loads(conn.makefile().read())
    sys.stdout.write(answer["output"])
    return int(answer["code"]) if answer["code"] >= 0 else 1


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1], sys.argv[2:]))
