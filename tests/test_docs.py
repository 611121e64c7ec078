"""The documentation site builds, warnings as errors, and every tutorial runs in the build.

``python -m sphinx -W --keep-going -b html docs <tmp>`` from a fresh copy of ``docs/`` (so no
tutorial is skipped as "already run" by sphinx-gallery's cache, and the checkout is not written to):
a broken reference, a reST error in a docstring or a failing tutorial fails this test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = ("_build", "api", "auto_tutorials", "sg_execution_times.rst")


def _missing(*modules):
    import importlib.util
    return [m for m in modules if importlib.util.find_spec(m) is None]


def _build(tmp_path_factory):
    missing = _missing("sphinx", "sphinx_gallery", "matplotlib")
    if missing:
        pytest.skip(f"the docs build needs {', '.join(missing)}: pip install '.[docs]' (part of '.[dev]')")
    tmp = tmp_path_factory.mktemp("docs")
    src = tmp / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns(*GENERATED))
    (tmp / "src").symlink_to(ROOT / "src")     # conf.py documents the checkout's retrograd (../src)
    out = tmp / "html"
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(src), str(out)], capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"sphinx failed ({seconds:.0f} s):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return out, src, seconds


def test_docs_site(tmp_path_factory):
    """One test (one build: pytest-xdist would build once per worker for several tests), four checks."""
    built = _build(tmp_path_factory)
    _check_index(built)
    _check_tutorials(built)
    _check_api(built)
    _check_offline(built)


def _check_index(built):
    out, _, seconds = built
    assert (out / "index.html").is_file()
    assert seconds < 300, f"the docs build took {seconds:.0f} s"


def _check_tutorials(built):
    out, src, _ = built
    tutorials = sorted((DOCS / "tutorials").glob("plot_*.py"))
    assert len(tutorials) >= 8
    for t in tutorials:
        page = out / "auto_tutorials" / f"{t.stem}.html"
        assert page.is_file(), f"{t.name} has no page"
        html = page.read_text(encoding="utf-8")
        assert "sphx_glr_" in html and ".png" in html, f"{t.name}: no figure embedded"
        assert "Traceback" not in html, f"{t.name} raised"


def _check_api(built):
    out, src, _ = built
    sys.path.insert(0, str(src))
    try:
        import conf  # docs/conf.py: the list of documented modules and how names are chosen
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("conf", None)
    import retrograd as rg
    assert {"rg.nn", "rg.bptt"} <= {f"rg.{p}" for p, *_ in conf.API_MODULES}
    for page, _, modname, _ in conf.API_MODULES:
        html = (out / "api" / f"{page}.html").read_text(encoding="utf-8")
        for name in conf.public_names(conf._module(modname)):
            assert f'id="{modname}.{name}"' in html, f"{modname}.{name} is not documented on api/{page}.html"
    assert 'id="retrograd.Op.vjp"' in (out / "api" / "retrograd.html").read_text(encoding="utf-8")
    assert rg.nn.LSTM.__name__ in (out / "api" / "nn.html").read_text(encoding="utf-8")


def _check_offline(built):
    """No page loads a script or a stylesheet from the network: the site works from the file system."""
    out, _, _ = built
    import re
    remote = re.compile(r'<script[^>]*\bsrc="(?:https?:)?//|<link[^>]*\bhref="(?:https?:)?//[^"]*"[^>]*>')
    for page in out.rglob("*.html"):
        hit = remote.search(page.read_text(encoding="utf-8"))
        assert hit is None, f"{page.relative_to(out)} loads {hit.group(0)}"
