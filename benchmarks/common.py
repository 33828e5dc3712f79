"""Helpers shared by the benchmark scripts (imported as `common`: scripts run from benchmarks/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git_commit() -> str:
    """The checkout's short commit, whatever the working directory the script runs from."""
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"
    return done.stdout.strip() or "unknown (not a git checkout)"
