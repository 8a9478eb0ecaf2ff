"""
Run a command with `DATABASE_URL` pointing at a Postgres server: `make test`'s Postgres pass.

    python scripts/with_postgres.py -- python -m pytest tests/records tests/realtime

Which server, in this order:

1. `POSTGRES_URL`, when set. If it does not answer, this fails and says so: a server the
   caller named is never replaced by another.
2. A server answering on the default address, postgres://postgres@127.0.0.1:5432.
3. Otherwise a throwaway server: Debian's `initdb` and `pg_ctl` (/usr/lib/postgresql/*/bin,
   installed with `apt-get install postgresql` when missing) make a cluster in a temporary
   folder, listening on 127.0.0.1 on a free port with its socket in that folder; it is stopped
   and the folder removed when the command ends, however it ends.

The command's exit status is this script's. Messages go to stderr, prefixed `with_postgres:`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/syncline"
DATABASE = "syncline"
# Debian's server binaries; the newest version when several are installed.
BINARIES = "/usr/lib/postgresql/*/bin"
# A test cluster: nothing in it needs to survive a crash.
FAST = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def say(message: str) -> None:
    print(f"with_postgres: {message}", file=sys.stderr, flush=True)


def unreachable(url: str) -> str | None:
    """Why the server of `url` does not answer (None when it does)."""
    try:
        psycopg.connect(url, dbname="postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def server_binaries() -> Path:
    """The directory of Debian's initdb and pg_ctl, installing the package when missing."""
    found = _newest_binaries()
    if found is None:
        say("no Postgres server binaries here: installing Debian's postgresql package")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"],
        ):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                raise SystemExit(
                    f"with_postgres: cannot install postgresql ({' '.join(command)}): {done.stderr[-2000:]}"
                )
        found = _newest_binaries()
        if found is None:
            raise SystemExit(f"with_postgres: apt-get installed postgresql, but no initdb under {BINARIES}")
    return found


def _newest_binaries() -> Path | None:
    dirs = [Path(d) for d in glob.glob(BINARIES) if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    return max(dirs, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0) if dirs else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_server() -> Iterator[str]:
    """A Postgres cluster in a temporary folder; yields its URL, then stops it and removes the folder."""
    bin_dir = server_binaries()
    folder = Path(tempfile.mkdtemp(prefix="syncline-postgres-"))
    data, log = folder / "data", folder / "server.log"
    # initdb refuses to run as root: as root, run the server as Debian's `postgres` user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres" if _has_user("postgres") else "nobody")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", user.pw_name, "--"]
    port = free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], cwd=folder, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"with_postgres: {Path(command[0]).name} failed: {(done.stdout + done.stderr)[-2000:]}")

    started = False
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 {FAST}"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        started = True
        url = f"postgres://postgres@127.0.0.1:{port}/{DATABASE}"
        with psycopg.connect(url, dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        say(f"started a throwaway Postgres server on 127.0.0.1:{port} in {folder}")
        yield url
    finally:
        if started:
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                cwd=folder,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(folder, ignore_errors=True)
        if started:
            say(f"stopped the throwaway Postgres server and removed {folder}")


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def run_command(command: list[str], database_url: str) -> int:
    proc = subprocess.Popen(command, env={**os.environ, "DATABASE_URL": database_url})
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        return proc.wait()


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        say("usage: with_postgres.py -- COMMAND [ARG...]")
        return 2
    # SIGTERM (make interrupted, a CI timeout) unwinds like Ctrl-C, so the server is removed.
    signal.signal(signal.SIGTERM, interrupted)
    named = os.environ.get("POSTGRES_URL")
    if named:
        why = unreachable(named)
        if why is not None:
            shown = without_password(named)
            say(f"POSTGRES_URL={shown} is not reachable ({why}): start that server or unset POSTGRES_URL")
            return 1
        return run_command(argv, named)
    if unreachable(DEFAULT_URL) is None:
        say(f"using the Postgres server at {DEFAULT_URL}")
        return run_command(argv, DEFAULT_URL)
    say("no POSTGRES_URL and nothing answers on 127.0.0.1:5432")
    try:
        with throwaway_server() as url:
            return run_command(argv, url)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
