"""The explorer's panel "Per-step alignment with the exact gradient": the data it
embeds (``rg.bptt.alignment`` of the traced modes and the online ones, on the
same run) and, in a real browser (skipped with the reason as in
test_explore_browser.py), that the panel draws, hovers and tabulates every
mode; a page without the data says it was not computed."""


import numpy as np
import pytest

import retrograd as rg
import retrograd.explore as rx
from retrograd import bptt, nn

from browser_support import INKED, launch_browser, open_page, requires_browser
from rnn_models import lstm_data

T, SEEDS = 6, 3



class TinyRNN(nn.Module):
    """A per-step model: hₜ = RNNCell(xₜ, hₜ₋₁), a linear readout of hₜ."""

    def __init__(self, I=3, H=4, O=2):
        super().__init__()
        self.cell, self.out = nn.RNNCell(I, H), nn.Linear(H, O)

    def forward(self, x, h):
        h = self.cell(x, h)
        return self.out(h), h


@pytest.fixture(scope="module")
def run():
    rg.manual_seed(0)
    model = TinyRNN().double()
    xs, ys = lstm_data(T=T, B=2)
    return model, xs, ys


@pytest.fixture(scope="module")
def page_path(run, tmp_path_factory):
    model, xs, ys = run
    path = tmp_path_factory.mktemp("alignment") / "aligned.html"
    ex = rx.explore(model, xs, ys, rg.cross_entropy, [bptt.chunk(2)], str(path),
                    online=[bptt.rtrl(), bptt.uoro(seed=0)], seeds=SEEDS, connectivity=False, fallback=False)
    return ex, str(path)


def test_the_page_embeds_the_alignment_of_every_mode(run, page_path):
    model, xs, ys = run
    ex, path = page_path
    assert list(ex.traces) == ["full()", "chunk(2)"]  # online modes get no trace
    d = rx.read_data(path)
    a = d["alignment"]
    assert a == ex.data()["alignment"] and a["T"] == T
    assert [m["mode"] for m in a["modes"]] == ["full()", "chunk(2)", "rtrl()", "uoro(seed=0)"]
    by = {m["mode"]: m for m in a["modes"]}
    for name in ("full()", "rtrl()"):  # exact: cosine 1 at every step, no variance
        assert len(by[name]["cosine"]) == T
        np.testing.assert_allclose(by[name]["cosine"], 1.0, atol=1e-9, rtol=0)
        np.testing.assert_allclose(by[name]["mean_cosine"], 1.0, atol=1e-9, rtol=0)
        assert by[name]["variance"] == [0.0] * T and by[name]["seeds"] == 1
    assert by["uoro(seed=0)"]["seeds"] == SEEDS and max(by["uoro(seed=0)"]["variance"][1:]) > 0
    assert min(by["chunk(2)"]["cosine"]) < 1 - 1e-6  # the truncation is biased
    # the numbers are rg.bptt.alignment's on the same run
    ref = bptt.alignment(model, xs, ys, rg.cross_entropy, [bptt.chunk(2), bptt.uoro(seed=0)], seeds=SEEDS).to_dict()
    for m in ref["modes"]:
        for key in ("cosine", "mean_cosine", "variance"):
            np.testing.assert_allclose(by[m["mode"]][key], m[key], rtol=1e-12, atol=1e-15)
    text = open(path, encoding="utf-8").read()
    assert 'id="panel-alignment"' in text and "online modes (alignment only): rtrl(), uoro(seed=0)" in text


def test_online_modes_inside_modes_move_to_the_panel_and_the_rest_is_unchanged(run):
    model, xs, ys = run
    ex = rx.explore(model, xs, ys, rg.cross_entropy, [bptt.rtrl(), bptt.chunk(2), bptt.snap(1)],
                    connectivity=False)
    assert list(ex.traces) == ["full()", "chunk(2)"]
    assert [m["mode"] for m in ex.data()["alignment"]["modes"]] == ["full()", "chunk(2)", "rtrl()", "snap(1)"]
    forced = rx.explore(model, xs, ys, rg.cross_entropy, [bptt.chunk(2)], connectivity=False, alignment=True)
    assert [m["mode"] for m in forced.data()["alignment"]["modes"]] == ["full()", "chunk(2)"]
    plain = rx.explore(model, xs, ys, rg.cross_entropy, [bptt.chunk(2)], connectivity=False)
    assert plain.alignment is None and plain.data()["alignment"] is None
    with pytest.raises(TypeError, match="online"):
        rx.explore(model, xs, ys, rg.cross_entropy, [bptt.chunk(2)], online=[bptt.chunk(3)])


# ---------------------------------------------------------------- in the browser
@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


def _open(browser, path):
    return open_page(browser, path)


def _tip(page):
    return page.evaluate("(() => { const t = document.getElementById('tooltip');"
                         " return {shown: t.style.display, value: t.dataset.value, step: t.dataset.step,"
                         " quantity: t.dataset.quantity, text: t.textContent}; })()")


def _table(page):
    return page.evaluate("Array.from(document.querySelectorAll('#alignment-table tr[data-mode]'))"
                         ".map((r) => ({mode: r.dataset.mode, sel: r.classList.contains('sel'),"
                         " cells: Array.from(r.cells).map((c) => c.textContent)}))")


@requires_browser
def test_the_panel_draws_hovers_and_tabulates_every_mode(browser, page_path):
    ex, path = page_path
    a = ex.data()["alignment"]
    page, errors = _open(browser, path)
    try:
        assert page.evaluate(INKED, "alignment") > 500
        rows = _table(page)
        assert [r["mode"] for r in rows] == [m["mode"] for m in a["modes"]]  # one row per mode
        assert [r["sel"] for r in rows] == [True, False, False, False]  # full() is selected
        uoro = rows[3]["cells"]
        assert uoro[0] == "uoro(seed=0)" and uoro[4] == str(SEEDS)
        assert float(uoro[1]) == pytest.approx(np.mean(a["modes"][3]["cosine"]), abs=1e-6)
        assert float(uoro[3]) == pytest.approx(np.mean(a["modes"][3]["variance"]), rel=1e-3)
        assert page.locator("#alignment-legend span").count() == len(a["modes"])
        # hover: the exact value of the point under the cursor
        page.evaluate("document.getElementById('alignment').scrollIntoView({block: 'center'})")
        for t in (1, 4):
            p = page.evaluate(f"retrograd.alignmentPoint(3, {t})")
            page.mouse.move(p["x"], p["y"])
            tip = _tip(page)
            assert tip["shown"] == "block" and int(tip["step"]) == t and tip["quantity"] == "uoro(seed=0)"
            assert float(tip["value"]) == a["modes"][3]["cosine"][t]  # the embedded float64, exactly
            assert "rtrl()" in tip["text"] and "chunk(2)" in tip["text"]
        # the mode selector highlights the mode's row and line
        before = page.evaluate("document.getElementById('alignment').toDataURL()")
        page.select_option("#mode", "1")  # chunk(2)
        assert [r["sel"] for r in _table(page)] == [False, True, False, False]
        assert page.evaluate("document.getElementById('alignment').toDataURL()") != before
        p = page.evaluate("retrograd.alignmentPoint(3, 5, 'mean_cosine')")  # uoro's dashed line: its mean's cosine
        page.mouse.move(p["x"], p["y"])
        tip = _tip(page)
        assert tip["quantity"] == "uoro(seed=0): cosine of the mean"
        assert float(tip["value"]) == a["modes"][3]["mean_cosine"][5]
        assert "dashed" in page.inner_text("#alignment-note")
        page.click('#alignment-table tr[data-mode="full()"]')  # a traced mode's row selects it
        assert page.evaluate("retrograd.state.mode") == 0
        assert errors == []
    finally:
        page.close()


@requires_browser
def test_a_page_without_alignment_says_it_was_not_computed(browser, run, tmp_path):
    model, xs, ys = run
    tr = bptt.trace(model, xs, ys, rg.cross_entropy, bptt.chunk(2))
    path = tr.to_html(str(tmp_path / "plain.html"), fallback=False)
    # a page written before the panel existed has no "alignment" key at all
    assert rx.read_data(path)["alignment"] is None
    old = tmp_path / "old.html"  # data as written before the panel existed: no "alignment" key at all
    old.write_text(open(path, encoding="utf-8").read().replace(',"alignment":null', ""), encoding="utf-8")
    assert "alignment" not in rx.read_data(str(old))
    for p in (path, str(old)):
        page, errors = _open(browser, p)
        try:
            assert "not computed" in page.inner_text("#alignment-table")
            assert page.evaluate(INKED, "alignment") > 50  # the message
            assert page.locator("#alignment-table tr[data-mode]").count() == 0
            assert errors == []
        finally:
            page.close()
