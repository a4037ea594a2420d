"""No restriction is a choice someone writes down: an unset, empty, comment-only or
unreadable allow-list stops the operator at startup with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers.system import SUB


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batch_image_operator"], capture_output=True, text=True,
        timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "AZURE_SUBSCRIPTION_ID": SUB,
             "KUBECONFIG": str(tmp_path / "no-cluster"), "BIO_METRICS_PORT": "off",
             "BIO_HEALTH_PORT": "off", **env})


@pytest.mark.parametrize(("content", "expected"), [
    (None, "set BIO_ALLOWLIST_FILE to a file, or to 'unrestricted'"),
    ("", "allow-list is empty"),
    ("# every team\n# to do: list them\n", "allow-list is empty"),
    ("directory", "Is a directory"),
    ("missing", "No such file"),
])
def test_no_explicit_allow_list_no_start(tmp_path: Path, content: str | None,
                                         expected: str) -> None:
    env = {}
    if content is not None:
        path = tmp_path / "allowlist.yaml"
        if content == "directory":
            path.mkdir()
        elif content != "missing":
            path.write_text(content)
        env["BIO_ALLOWLIST_FILE"] = str(path)
    proc = start(tmp_path, **env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: "), proc.stderr
    assert expected in lines[0]
