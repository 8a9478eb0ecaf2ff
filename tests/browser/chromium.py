"""
Headless Chromium for tests, driven over the Chrome DevTools protocol.

`ensure_chromium()` installs Debian's `chromium` package with apt-get when /usr/bin/chromium
is missing (and fails, not skips, when it cannot). `Browser` starts it with a fresh profile
and a DevTools port, and `Page` drives one tab: navigate, evaluate JavaScript (awaiting
promises), and collect uncaught page errors.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
]


def ensure_chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"cannot install chromium ({' '.join(command)}): {done.stderr[-2000:]}")
    if not os.path.exists(CHROMIUM):
        raise RuntimeError("apt-get installed chromium, but /usr/bin/chromium is missing")
    return CHROMIUM


class CdpError(RuntimeError):
    pass


class Browser:
    """A headless Chromium process and its DevTools connection."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="syncline-chromium-")
        self.proc = subprocess.Popen(
            [ensure_chromium(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._closing = contextlib.ExitStack()
        self.ws: ClientConnection = self._closing.enter_context(
            connect(self._devtools_url(), max_size=None, open_timeout=10)
        )
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def _devtools_url(self, timeout: float = 30) -> str:
        # Chromium writes its port and browser path here once it listens.
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            with contextlib.suppress(FileNotFoundError, ValueError):
                port, path = port_file.read_text().split("\n")[:2]
                if port and path:
                    return f"ws://127.0.0.1:{int(port)}{path}"
            time.sleep(0.05)  # polling a file chromium writes: there is nothing to await
        raise RuntimeError("chromium did not open its DevTools port")

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer; events that arrive meanwhile are kept."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.0, deadline - time.monotonic())))
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise CdpError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(json.loads(self.ws.recv(timeout=max(0.0, deadline - time.monotonic()))))

    def page(self, isolated: bool = False) -> Page:
        """A new tab; `isolated`: in a browser context of its own (its own cookies, as another
        person's browser would have)."""
        context = {"browserContextId": self.call("Target.createBrowserContext")["browserContextId"]} if isolated else {}
        target = self.call("Target.createTarget", url="about:blank", **context)["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        self.call("Page.enable", session)
        self.call("Runtime.enable", session)
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._closing.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def navigate(self, url: str) -> None:
        """Open `url` and wait until it has loaded."""
        self.browser.events = [e for e in self.browser.events if e.get("method") != "Page.loadEventFired"]
        self.browser.call("Page.navigate", self.session, url=url)
        self.browser.wait_event("Page.loadEventFired", self.session)

    def evaluate_and_wait_load(self, expression: str) -> None:
        """Run JavaScript that navigates (a form submit) and wait until the next page has loaded."""
        self.browser.events = [e for e in self.browser.events if e.get("method") != "Page.loadEventFired"]
        self.evaluate(expression)
        self.browser.wait_event("Page.loadEventFired", self.session)

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JavaScript expression; a promise is awaited."""
        result = self.browser.call(
            "Runtime.evaluate",
            self.session,
            timeout=timeout + 5,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[dict[str, Any]]:
        """Uncaught exceptions of the page so far."""
        return [e for e in self.browser.events if e.get("method") == "Runtime.exceptionThrown"]
