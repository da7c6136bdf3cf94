"""report.pdf: the HTML report printed by headless Chromium.

A browser is the one renderer that gives the PDF exactly what the HTML shows
(inline SVG, typeset math, tables that break across pages) with a print style
sheet for A4 pages and page numbers; Debian's ``chromium`` package provides it,
and so does any Chrome or Edge install. Without one, the HTML and Markdown are
still written and the user is told how to get the PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from chainrule.errors import ChainruleError
from chainrule.files import atomic_path

BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "microsoft-edge",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
"""Where to look for a Chromium-based browser; the CHAINRULE_BROWSER variable comes first."""

PRINT_SECONDS = 180
"""Longest a print may take before it is called stuck."""


class NoBrowserError(ChainruleError):
    """No Chromium-based browser was found to print the PDF with."""


def find_browser() -> str:
    """The path of a Chromium-based browser, or :class:`NoBrowserError` saying how to get one."""
    candidates = [os.environ.get("CHAINRULE_BROWSER", ""), *BROWSERS]
    for name in filter(None, candidates):
        path = shutil.which(name) or (name if os.path.isfile(name) else None)
        if path:
            return path
    raise NoBrowserError(
        "report.pdf needs Chromium or Chrome to print it: install one (Debian/Ubuntu: "
        "apt-get install chromium) or set CHAINRULE_BROWSER; index.html prints to PDF too"
    )


def headless_arguments(browser: str, profile: Path) -> list[str]:
    """The command line of a headless browser that touches nothing outside ``profile``.

    >>> headless_arguments("chromium", Path("/tmp/p"))[:2]
    ['chromium', '--headless']
    """
    arguments = [
        browser,
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--mute-audio",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        f"--user-data-dir={profile}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium refuses to run as root otherwise
        arguments.append("--no-sandbox")
    return arguments


def print_pdf(html_file: Path, pdf_file: Path, browser: str | None = None) -> None:
    """Print ``html_file`` to ``pdf_file`` (atomically) with the page style it defines."""
    browser = browser or find_browser()
    with tempfile.TemporaryDirectory(prefix="chainrule-browser-") as profile, \
            atomic_path(pdf_file) as target:
        command = [
            *headless_arguments(browser, Path(profile)),
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PRINT_SECONDS, check=False
            )
        except subprocess.TimeoutExpired:
            raise ChainruleError(f"{browser} did not print the PDF in {PRINT_SECONDS} s") from None
        if done.returncode != 0 or target.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ChainruleError(f"{browser} could not print the PDF: {last}")
