"""`node-ws`: `baselines/node_ws/server.js`, a plain Node.js broadcast server on the `ws` package.

One process, the same wire as `bare` (`/ws/<group>`, `/sse/<group>`, `POST /publish/<group>`):
the strongest ceiling of the benchmark. `prepare` runs `npm ci` (the versions of package-lock.json).
"""

import os
import shutil
from pathlib import Path

from targets.bare import BareTarget
from targets.base import BASELINES_DIR
from targets.procs import TargetUnavailableError, run_once

PROJECT_DIR = BASELINES_DIR / "node_ws"


class NodeWsTarget(BareTarget):
    """`node server.js <port>`."""

    name = "node-ws"

    def prepare(self) -> None:
        """Install `ws` from package-lock.json."""
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            raise TargetUnavailableError("node and npm must be on PATH to run node-ws (Node.js 18 or later)")
        env = dict(os.environ)  # npm needs HOME (its cache)
        argv = [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        run_once(argv, cwd=PROJECT_DIR, env=env, log=self.workdir / "setup.log", timeout_s=300)

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        """Node with its defaults."""
        node = shutil.which("node") or "node"
        return [node, "server.js", str(self.port)], PROJECT_DIR, self.python_env()
