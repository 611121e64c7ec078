"""The explorer pages show user strings (titles, mode names, table cells)
literally: a string that looks like one of the template's @@MARKER@@s is not
replaced by the page's script, data or style."""

import numpy as np
import pytest

import retrograd as rg
import retrograd.explore as rx
from retrograd import bptt, nn
from retrograd.explore import explain as explain_page
from retrograd.explore import page as trace_page

from rnn_models import lstm_data, twin_models

MARKERS = ["@@JS@@", "@@DATA@@", "@@CSS@@", "@@TITLE@@", "@@SUBTITLE@@", "@@FALLBACK@@", "@@TABLE@@", "@@DECADES@@"]
TITLE = "run " + " ".join(MARKERS) + " <b>&"


def _script(name):
    return rx._assets.script(name)


def _check_page(text, js_name):
    # the title appears escaped, exactly as given, in <title> and <h1>
    escaped = TITLE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert text.count(f"<title>{escaped}</title>") == 1
    assert text.count(f"<h1>{escaped}</h1>") == 1
    assert text.count(_script(js_name)) == 1  # the script once, in its <script>, not in the title
    assert text.count('<script type="application/json" id="retrograd-trace">') == 1


@pytest.fixture(scope="module")
def trace():
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=6, B=2)
    return bptt.trace(seq, xs, ys, rg.cross_entropy, bptt.chunk(3))


def test_a_trace_page_title_that_looks_like_a_marker_is_shown_literally(trace, tmp_path):
    path = trace.to_html(str(tmp_path / "t.html"), title=TITLE, fallback=False)
    text = open(path, encoding="utf-8").read()
    _check_page(text, "trace.js")
    assert rx.read_data(path)["title"] == TITLE


def test_mode_names_that_look_like_markers_are_shown_literally(trace):
    data = trace_page.explorer_data([trace], "t")
    data["modes"][0]["mode"] = "@@JS@@ @@DATA@@"
    text = trace_page.render(data, b"png")
    assert text.count(_script("trace.js")) == 1
    assert "modes: @@JS@@ @@DATA@@" in text and 'alt="gradient heatmaps of @@JS@@ @@DATA@@"' in text


def test_an_explain_page_title_and_cells_that_look_like_markers_are_shown_literally(tmp_path):
    rg.manual_seed(0)
    lin = nn.Linear(3, 2).double()
    loss = (lin(rg.tensor(np.ones((2, 3)))) ** 2).sum()
    g = rx.explain_html(loss, str(tmp_path / "g.html"), title=TITLE)
    text = open(g.path, encoding="utf-8").read()
    _check_page(text, "explain.js")
    assert rx.read_data(g.path)["title"] == TITLE
    data = g.data("t")
    data["steps"][0]["cells"][0] = "@@JS@@"
    data["header"][0] = "@@DATA@@"
    text = explain_page.render(data)
    assert text.count(_script("explain.js")) == 1
    assert "<td>@@JS@@</td>" in text and "<th>@@DATA@@</th>" in text
