"""Driving Debian's chromium with Playwright in the browser tests (never `playwright install`):
where the browser is, how it is launched, the skip reason when it is missing, and the
helpers the explorer tests share (open a page collecting console errors, count inked pixels)."""

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def missing():
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'retrograd[browser]')"
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does as root)"
    return None


requires_browser = pytest.mark.skipif(missing() is not None, reason=missing() or "")


def launch_browser():
    """A generator for a module-scoped fixture: chromium launched once, closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        exe = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        yield b
        b.close()


def open_page(browser, path):
    """(page, errors): the file opened in a fresh page, every console error and page error collected."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("file://" + os.path.abspath(path))
    page.wait_for_function("window.retrograd !== undefined")
    return page, errors


INKED = """(id) => {  // pixels that are neither white nor transparent
  const c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250)) n++;
  return n;
}"""
