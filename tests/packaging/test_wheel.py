"""The operator wheel, built from exactly what the Dockerfile copies and installed alone
into a fresh virtualenv the way the image does: the emulators and tests stay out, and
the `batch-image-operator` command works.

Building the wheel and the venv takes ~25 s with a warm pip cache (dependencies come
from PyPI through pip's cache).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def build_context_paths() -> list[str]:
    """What the Dockerfile's build stage COPYs from the context (not --from=...)."""
    paths: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            paths.extend(w for w in words[1:-1] if not w.startswith("--"))
    return paths


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"} and not k.startswith("AZURE_")
           and not k.startswith("BIO_")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("context")
    for rel in build_context_paths():
        src = ROOT / rel
        if src.is_dir():
            shutil.copytree(src, context / rel, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", "*.pyc"))
        else:
            shutil.copy2(src, context / rel)
    dist = tmp_path_factory.mktemp("dist")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", ".",
                 "-w", str(dist)], cwd=context)
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("venv")
    created = run([sys.executable, "-m", "venv", str(root)], cwd=root)
    assert created.returncode == 0, created.stderr
    installed = run([str(root / "bin" / "python"), "-m", "pip", "install", "--quiet",
                     str(wheel)], cwd=root)
    assert installed.returncode == 0, installed.stderr
    yield root


def test_dockerfile_context_is_operator_pyproject_readme_and_lock() -> None:
    assert sorted(p.rstrip("/").removeprefix("./") for p in build_context_paths()) == [
        "README.md", "operator", "pyproject.toml", "requirements.lock"]


def test_wheel_holds_only_the_operator_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    assert "batch_image_operator" in top
    assert {t for t in top if not t.endswith(".dist-info")} == {"batch_image_operator"}
    assert "batch_image_operator/__main__.py" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert re.search(r"^batch-image-operator = batch_image_operator.__main__:main$", text, re.M)


@pytest.mark.parametrize("module", ["kubesim", "azuresim", "simlaunch"])
def test_emulators_are_not_installed(venv: Path, tmp_path: Path, module: str) -> None:
    probe = run([str(venv / "bin" / "python"), "-c", f"import {module}"], cwd=tmp_path)
    assert probe.returncode != 0
    assert f"No module named '{module}'" in probe.stderr


def test_operator_is_imported_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    probe = run([str(venv / "bin" / "python"), "-c",
                 "import batch_image_operator, kopf; print(batch_image_operator.__file__)"],
                cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()).is_relative_to(venv)


def test_entry_point_help(venv: Path, tmp_path: Path) -> None:
    result = run([str(venv / "bin" / "batch-image-operator"), "--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: batch-image-operator")
    assert "AZURE_SUBSCRIPTION_ID" in result.stdout


def test_entry_point_refuses_to_start_without_a_subscription(venv: Path, tmp_path: Path) -> None:
    result = run([str(venv / "bin" / "batch-image-operator")], cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "AZURE_SUBSCRIPTION_ID" in result.stderr
