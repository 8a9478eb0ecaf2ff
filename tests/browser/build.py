"""Building the front end for the browser tests: `npm ci` when needed, a workspace's build when stale."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import ROOT

FRONTEND = ROOT / "frontend"


def newest_change(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)


def npm(command: list[str]) -> None:
    done = subprocess.run(command, cwd=FRONTEND, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed in frontend/:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def ensure_built(workspace: str, output: Path, inputs: list[Path]) -> None:
    """npm ci when node_modules is missing or older than the lock file; `npm run build` of the
    workspace when `output` is missing or older than any of `inputs`."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("node and npm are needed for the browser tests (apt-get install nodejs npm)")
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (FRONTEND / "package-lock.json").stat().st_mtime:
        npm(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
    if not output.exists() or output.stat().st_mtime < max(newest_change(p) for p in inputs):
        npm(["npm", "run", "build", "--workspace", workspace])
