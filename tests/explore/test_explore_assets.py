"""rg.explore's CSS and JavaScript files (src/retrograd/explore/assets/, package
data): each is listed, shipped by pyproject.toml's package-data, valid (every
page script passes ``node --check``) and inlined whole into the written pages,
which still load nothing from outside. test_explore_browser.py runs them."""

import fnmatch
import html.parser
import shutil
import subprocess
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

import retrograd as rg
import retrograd.explore as rx
from retrograd import bptt
from retrograd.explore._assets import ASSETS, PRELUDE, asset, script

from rnn_models import lstm_data, twin_models

ROOT = Path(__file__).resolve().parents[2]
PAGE_SCRIPTS = {"trace": "trace.js", "explain": "explain.js"}  # each page's script: prelude.js + this
NODE = shutil.which("node")


def _asset_files():
    return sorted(p.name for p in files("retrograd.explore").joinpath("assets").iterdir() if p.is_file())


def test_every_asset_is_listed_present_and_shipped():
    assert _asset_files() == sorted(ASSETS)  # nothing missing, nothing stray
    for name in ASSETS:
        assert asset(name).strip(), name
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]["retrograd.explore"]
    unshipped = [n for n in ASSETS if not any(fnmatch.fnmatch(f"assets/{n}", g) for g in globs)]
    assert not unshipped, f"not in [tool.setuptools.package-data] (a wheel would lack them): {unshipped}"


def test_header_comments_stay_out_of_the_pages():
    for name in ASSETS:
        raw = files("retrograd.explore").joinpath(f"assets/{name}").read_text(encoding="utf-8")
        assert raw.startswith("/*"), f"{name} opens with a header comment saying what it is"
        assert "/*" not in asset(name)[:2] and "header is dropped" not in asset(name)
        assert raw.endswith(asset(name))


def test_every_js_asset_is_in_a_page_script():
    js = {n for n in ASSETS if n.endswith(".js")}
    assert js == {PRELUDE, *PAGE_SCRIPTS.values()}  # node --check below covers every .js file


@pytest.mark.skipif(NODE is None, reason="node is not installed (`node --check` validates the pages' JavaScript)")
@pytest.mark.parametrize("name", sorted(PAGE_SCRIPTS.values()))
def test_node_check_page_script(name, tmp_path):
    """prelude.js opens a function that trace.js / explain.js close: neither is
    a program alone, so node checks each page's script (the two together)."""
    path = tmp_path / f"page-{name}"
    path.write_text(script(name), encoding="utf-8")
    r = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"node --check {name} (after {PRELUDE}):\n{r.stderr}"
    broken = tmp_path / "broken.js"  # the check is not vacuous: node does reject a syntax error
    broken.write_text(script(name).replace("})();", "})(;", 1), encoding="utf-8")
    assert subprocess.run([NODE, "--check", str(broken)], capture_output=True, timeout=120).returncode != 0


class _Page(html.parser.HTMLParser):
    """Each element's attributes, and the text of every <style> and <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.text, self._open = [], {}, None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._open = (tag, dict(attrs).get("type", ""))
            self.text.setdefault(self._open, []).append("")

    def handle_endtag(self, tag):
        self._open = None

    def handle_data(self, data):
        if self._open:
            self.text[self._open][-1] += data


def _written_pages(tmp_path):
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=6, B=2)
    tr = bptt.trace(seq, xs, ys, rg.cross_entropy, bptt.chunk(3))
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    loss = (rg.tanh(x) ** 2).sum()
    return {"trace": tr.to_html(str(tmp_path / "trace.html"), fallback=False),
            "explain": rx.explain_html(loss, str(tmp_path / "graph.html")).path}


def test_pages_inline_every_asset_and_load_nothing_from_outside(tmp_path):
    for kind, path in _written_pages(tmp_path).items():
        text = Path(path).read_text(encoding="utf-8")
        p = _Page()
        p.feed(text)
        assert not [a for t, a in p.tags if t == "script" and "src" in a], kind
        assert not [a for t, a in p.tags if t == "link" and not a.get("href", "").startswith("data:")], kind
        assert p.text[("style", "")] == [asset("style.css")], kind
        assert p.text[("script", "")] == [script(PAGE_SCRIPTS[kind])], kind  # prelude.js + the page's own, whole
        assert len(p.text[("script", "application/json")]) == 1, kind
        assert "@import" not in text and "url(http" not in text, kind
