"""Headless Chromium for tests: the DOM of a local page after its scripts ran, and the
console errors it logged. Never loads anything remote (the pages are self-contained)."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
CONSOLE = re.compile(r"CONSOLE|Uncaught|Refused to")  # errors, exceptions, blocked content


@dataclass
class Page:
    dom: str
    console: list[str]  # console messages, uncaught exceptions and CSP refusals


def needs_chromium():
    """Skip a test when Chromium is absent, except in CI (CI=true), where .ci/run installs
    Debian's chromium and a missing one must fail the test."""
    return pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                              reason=f"headless Chromium not found at {CHROMIUM}; apt-get install chromium")


def render(path: Path, fragment: str = "", timeout: float = 90) -> Page:
    """Load a local file (at #fragment) and return its DOM after scripts ran (--dump-dom)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                               Path(path).resolve().as_uri() + (f"#{fragment}" if fragment else "")],
                              capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return Page(proc.stdout, [line for line in proc.stderr.splitlines() if CONSOLE.search(line)])


def screenshot(path: Path, out: Path, size: str = "1200,2400", dark: bool = False) -> None:
    """A PNG of the page, for looking at it (light or dark scheme)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        flags = ["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *flags,
                        f"--window-size={size}", f"--screenshot={out}", Path(path).resolve().as_uri()],
                       capture_output=True, timeout=90, check=True)


def needs_playwright():
    """Skip a browser test that types when Playwright or Chromium is absent, except in CI
    (CI=true), where .ci/run installs both and a skip would hide a broken test."""
    try:
        import playwright.sync_api  # noqa: F401
        missing = "" if Path(CHROMIUM).exists() else f"headless Chromium not found at {CHROMIUM}; apt-get install chromium"
    except ImportError:
        missing = "playwright not installed; pip install -e '.[test]'"
    return pytest.mark.skipif(bool(missing) and os.environ.get("CI") != "true", reason=missing)


@contextlib.contextmanager
def typing_browser():
    """A Playwright page in Debian's Chromium (Playwright downloads no browser), with the
    console errors and uncaught exceptions it logs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page()
            page.errors = []
            page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            page.on("dialog", lambda d: (page.errors.append(f"dialog: {d.message}"), d.dismiss()))
            yield page
        finally:
            browser.close()
