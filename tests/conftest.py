"""Shared test settings and fixtures.

Under CI (the ``CI`` environment variable is set) hypothesis runs derandomized,
so a submission's result does not depend on the luck of the draw; locally it
explores new examples on every run, which is how rare cases are found.

The fixtures ``server`` (``chainrule serve`` on a free port), ``browser`` and
``page`` (Playwright on the system's Chromium) serve the playground's tests and
the report's page test alike.
"""

import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from PIL import Image, ImageDraw

from mnist_model import tiny_checkpoint

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# ------------------------------------------------------------------ servers and a browser
# Shared by tests/test_serve*.py and the report's page test: a real uvicorn server of
# `chainrule serve` on a free 127.0.0.1 port, and Playwright driving the system's Chromium.

__all__ = ["tiny_checkpoint"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SERVER_START_S = 120  # workers import numpy and sympy and warm up; a loaded CI machine is slow


def health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "api/health", timeout=10) as answer:
        document: dict[str, Any] = json.loads(answer.read())
    return document


def wait_until_ready(url: str, alive: Any = lambda: True) -> None:
    """Poll /api/health until every worker is up (bounded by SERVER_START_S)."""
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        assert alive(), "the server stopped while starting"
        with contextlib.suppress(OSError):
            state = health(url)
            if state["workers"] == state["size"]:
                return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not get ready in {SERVER_START_S} s")


@pytest.fixture(scope="session")
def server(tiny_checkpoint: Path) -> Iterator[str]:
    """``chainrule serve --port 0 --checkpoint tiny.pt`` in a subprocess; yields its URL."""
    command = [sys.executable, "-m", "chainrule", "serve", "--port", "0", "--workers", "2",
               "--checkpoint", str(tiny_checkpoint)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        url = line.split()[2]
        wait_until_ready(url, lambda: process.poll() is None)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def one_digit_png(digit: str = "1", size: int = 200) -> bytes:
    """A digit drawn in black on white paper, as a phone photo of a sheet would be."""
    paper = Image.new("RGB", (size, size), "white")
    pen = ImageDraw.Draw(paper)
    if digit == "1":
        pen.line([(size // 2, size // 6), (size // 2, 5 * size // 6)], fill="black", width=14)
    else:  # a zero
        pen.ellipse([size // 4, size // 6, 3 * size // 4, 5 * size // 6], outline="black", width=14)
    buffer = io.BytesIO()
    paper.save(buffer, format="PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running(settings: Any) -> Iterator[str]:
    """A uvicorn server of ``create_app(settings)`` in a thread of this process; its URL."""
    import uvicorn

    from chainrule.serve.app import create_app

    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            log_level="warning", access_log=False)
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}/"
    try:
        wait_until_ready(url, thread.is_alive)
        yield url
    finally:
        web.should_exit = True
        thread.join(timeout=60)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system's: browsers cannot be downloaded here).

    One per module: Playwright's sync API keeps an event loop running in the main
    thread while it is open, and other tests call ``asyncio.run``.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class ConsoleErrors(list[str]):
    """What the page logged as an error, and the exceptions it threw."""

    def unexpected(self) -> list[str]:
        """All but the browser's own notes on the 400 answers a test asked for."""
        return [e for e in self if "the server responded with a status of 400" not in e]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (1100x1500); ``page.console_errors`` collects its errors."""
    context = browser.new_context(viewport={"width": 1100, "height": 1500})
    tab = context.new_page()
    errors = ConsoleErrors()
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error"
           else None)
    tab.on("pageerror", lambda error: errors.append(f"exception: {error}"))
    tab.console_errors = errors
    try:
        yield tab
    finally:
        context.close()
