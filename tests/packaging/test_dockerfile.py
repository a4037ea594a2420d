"""Static checks of the Dockerfile: what ends up in the image and who it runs as."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
Instruction = tuple[str, str]
SLIM_PYTHON = re.compile(r"python:3\.(1[1-9])-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?")


def instructions(text: str) -> list[Instruction]:
    """(KEYWORD, arguments) per instruction; comments dropped, continuations joined."""
    out: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), " ".join(args.split())))
    return out


def stages(text: str) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for ins in instructions(text):
        if ins[0] == "FROM":
            result.append([])
        assert result, "instruction before the first FROM"
        result[-1].append(ins)
    return result


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_multi_stage_on_a_slim_python_base(dockerfile: str) -> None:
    built = stages(dockerfile)
    assert len(built) >= 2
    for stage in built:
        image = stage[0][1].split()[0]
        assert SLIM_PYTHON.fullmatch(image), image


def test_build_stage_sees_only_operator_pyproject_readme_and_lock(dockerfile: str) -> None:
    copied: set[str] = set()
    for keyword, args in instructions(dockerfile):
        if keyword in {"COPY", "ADD"} and "--from" not in args:
            assert keyword == "COPY", "ADD can fetch URLs and unpack archives; use COPY"
            copied.update(w.rstrip("/").removeprefix("./") for w in args.split()[:-1]
                          if not w.startswith("--"))
    assert copied == {"operator", "pyproject.toml", "README.md", "requirements.lock"}
    code = " ".join(args for _, args in instructions(dockerfile))
    for forbidden in ("emulators", "tests", "demo", "kubesim", "azuresim"):
        assert forbidden not in code


def test_runtime_stage_installs_only_the_wheel(dockerfile: str) -> None:
    final = stages(dockerfile)[-1]
    copies = [args for kw, args in final if kw == "COPY"]
    assert copies and all(a.startswith("--from=") and ".whl" in a for a in copies)
    installs = [args for kw, args in final if kw == "RUN" and "pip install" in args]
    assert len(installs) == 1
    targets = installs[0].split("pip install", 1)[1].split("&&")[0].split()
    assert [t for t in targets if not t.startswith("-")] == ["/tmp/*.whl"]
    assert not {"-e", "--editable", "-r"} & set(targets)


def test_runs_as_numeric_non_root_user(dockerfile: str) -> None:
    users = [args for kw, args in stages(dockerfile)[-1] if kw == "USER"]
    assert users, "runtime stage has no USER"
    match = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert match, "USER must be numeric so runAsNonRoot can verify it"
    assert int(match.group(1)) != 0 and (match.group(2) is None or int(match.group(2)) != 0)
    # the user is the one the chart's securityContext runs as
    chart = (ROOT / "charts" / "batch-image-operator" / "templates" / "deployment.yaml").read_text()
    assert f"runAsUser: {match.group(1)}" in chart


def test_entrypoint_is_the_operator(dockerfile: str) -> None:
    final = stages(dockerfile)[-1]
    entrypoints = [args for kw, args in final if kw == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ["batch-image-operator"]
    assert not [kw for kw, _ in final if kw == "CMD"]
    # exposes the ports the chart probes and scrapes
    exposed = {p for kw, args in final if kw == "EXPOSE" for p in args.split()}
    assert {"8080", "8081"} <= exposed


def test_instruction_parser_joins_continuations() -> None:
    parsed = instructions("FROM a AS b\n# c\nRUN x \\\n    && y\nUSER 1\n")
    assert parsed == [("FROM", "a AS b"), ("RUN", "x && y"), ("USER", "1")]
