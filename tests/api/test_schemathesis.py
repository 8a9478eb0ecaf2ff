"""
Schemathesis against a real server: every operation of the schema, with generated valid and
invalid input, as a unit member (alice) and as staff (admin). No answer may be a 5xx, and
every answer must match the schema (status code, content type, body, headers); the server's
log must show no unhandled exception (Server.stop checks it).

Bounded to stay near a minute or two on a loaded machine: a few random examples per
operation and user (schemathesis' fuzzing phase, valid and invalid input alike). Its coverage
phase (every boundary value of every field) takes minutes here; tests/api/test_errors.py
sends the boundary values that matter (ids past the database's range) on every endpoint.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support import PYTHON, Server

SCHEMATHESIS = str(Path(PYTHON).with_name("schemathesis"))
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
RUNS = (("alice", 4), ("admin", 2))  # (user, examples per operation)


def test_every_operation_answers_generated_input_as_the_schema_says(tmp_path: Path) -> None:
    # Jobs the run starts stay small; the rest is the demo data `Server` seeds.
    with Server({"PROGRESS_MAX_ITEMS": "20"}) as server:
        for username, examples in RUNS:
            command = [
                SCHEMATHESIS,
                "run",
                f"{server.base}/api/schema/?format=json",
                "--url",
                server.base,
                "--header",
                f"Authorization: Bearer {server.token(username)}",
                "--checks",
                CHECKS,
                "--phases",
                "fuzzing",
                "--max-examples",
                str(examples),
                "--workers",
                "2",
                "--request-timeout",
                "30",
                "--no-color",
            ]
            # Its working files (.hypothesis, reports) go to the test's own folder.
            result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
            assert result.returncode == 0, f"as {username}:\n{result.stdout[-12000:]}\n{result.stderr[-2000:]}"
            # "0 passed" alone, not the end of "120 passed".
            assert re.search(r"(?<!\d)[1-9]\d* passed", result.stdout), result.stdout[-3000:]
