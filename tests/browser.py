"""Headless Chromium for tests: the DOM of a local page after its scripts ran, and the
console errors it logged. Never loads anything remote (the pages are self-contained)."""
from __future__ import annotations

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
    """Skip a test when Chromium is absent (.ci/run installs Debian's chromium)."""
    return pytest.mark.skipif(not Path(CHROMIUM).exists(),
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
