"""requirements.lock is the one source of every installed version: it agrees with what
pyproject.toml (and emulators/pyproject.toml) declare, every pin carries hashes, and
`make install`, CI (which runs `make test`) and the Dockerfile all install from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
# name==version [; marker] \ followed by its --hash lines
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;\s*(.+?))?\s*\\?$")


def locked() -> dict[str, tuple[Version, int]]:
    """Canonical name -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in LOCK.read_text().splitlines():
        if m := _PIN.match(line):
            current = canonicalize_name(m[1])
            assert current not in pins, f"{m[1]} pinned twice"
            pins[current] = (Version(m[2]), 0)
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def declared() -> list[tuple[str, Requirement]]:
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    emulators = tomllib.loads((ROOT / "emulators" / "pyproject.toml").read_text())["project"]
    return ([("pyproject.toml", Requirement(r)) for r in main["dependencies"]]
            + [("pyproject.toml [dev]", Requirement(r))
               for r in main["optional-dependencies"]["dev"]]
            + [("emulators/pyproject.toml", Requirement(r)) for r in emulators["dependencies"]]
            + [("pyproject.toml [build-system]", Requirement(r)) for r in tomllib.loads(
                (ROOT / "pyproject.toml").read_text())["build-system"]["requires"]])


def applies_somewhere(req: Requirement) -> bool:
    """The lock is universal; a requirement only for other platforms (win32) is still
    locked when any supported platform needs it. Here: Linux, the one CI and the image use."""
    if req.marker is None:
        return True
    return bool(req.marker.evaluate({**default_environment(), "sys_platform": "linux",
                                     "python_version": "3.11"}))


@pytest.mark.parametrize(("source", "req"), declared(), ids=lambda v: str(v))
def test_every_declared_dependency_is_locked_within_its_range(source: str,
                                                              req: Requirement) -> None:
    if not applies_somewhere(req):
        pytest.skip(f"{req} is not for Linux")
    pins = locked()
    name = canonicalize_name(req.name)
    assert name in pins, f"{req} ({source}) is not in requirements.lock: run `make lock`"
    version, hashes = pins[name]
    assert req.specifier.contains(version, prereleases=True), \
        f"requirements.lock pins {name}=={version}, outside {req} ({source}): run `make lock`"
    assert hashes >= 1


def test_every_pin_has_a_hash() -> None:
    pins = locked()
    assert len(pins) > 20
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_make_ci_and_the_image_install_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "LOCK   := requirements.lock" in makefile
    # The projects themselves add nothing unlocked.
    assert "--no-deps --no-build-isolation -e . -e ./emulators" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes --no-deps --dest /locked -r requirements.lock" in dockerfile
    assert "pip wheel --no-index --find-links=/locked" in dockerfile
    assert "pip install --no-index /tmp/*.whl" in dockerfile


def test_the_base_image_is_pinned_by_digest() -> None:
    froms = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.startswith("FROM ")]
    assert froms and all(re.fullmatch(r"[\w.:/-]+@sha256:[0-9a-f]{64}", f) for f in froms), froms
