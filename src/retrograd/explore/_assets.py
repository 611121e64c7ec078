"""The explorer pages' CSS and JavaScript, kept as files in ``assets/``
(package data, listed in pyproject.toml) and inlined into each page: the
written HTML stays one self-contained file, with no network.

* ``style.css``: both pages' ``<style>``;
* ``prelude.js``: the opening of both pages' ``<script>`` (reads the embedded
  data); ``trace.js`` (the trace explorer, ``page.py``) and ``explain.js``
  (the backward graph, ``explain.py``) follow it and close its function, so
  a page's script is ``script(name)``, never one file alone.

Each file opens with one ``/* … */`` comment saying what it is; ``asset``
drops it and the line break after it, so the pages carry the code alone.
"""

from __future__ import annotations

import functools
from importlib.resources import files

PRELUDE = "prelude.js"
ASSETS = ("style.css", PRELUDE, "trace.js", "explain.js")  # every file in assets/ (the tests check both ways)


@functools.cache
def asset(name: str) -> str:
    """The text of ``assets/<name>`` without its header comment."""
    text = files("retrograd.explore").joinpath(f"assets/{name}").read_text(encoding="utf-8")
    if text.startswith("/*"):
        text = text[text.index("*/") + 2:].removeprefix("\n")
    return text


def script(name: str) -> str:
    """A page's whole script: ``prelude.js`` then ``name``, which closes it."""
    return asset(PRELUDE) + asset(name)
