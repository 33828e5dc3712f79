"""`make test` for a developer without root: scripts/install-system-deps.sh must not stop it
when sudo asks for a password (issue 22); the tests that need the packages skip, saying why."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-system-deps.sh"


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def test_a_sudo_that_wants_a_password_skips_with_a_message(tmp_path):
    # A user (uid 1000) without a CJK font, whose sudo needs a password; apt-get must not run.
    _stub(tmp_path, "id", 'echo 1000')
    _stub(tmp_path, "fc-list", "exit 0")
    _stub(tmp_path, "sudo", 'echo "sudo: a password is required" >&2; exit 1')
    _stub(tmp_path, "apt-get", f'touch {tmp_path}/apt-get-ran; exit 0')
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "sudo asks for a password; skipped" in done.stderr
    assert not (tmp_path / "apt-get-ran").exists()
