"""The explorer pages in a real browser: Debian's chromium, driven headless by
Playwright (``pip install playwright``; never ``playwright install``). Skipped,
with the reason, when either is missing; test_explore.py checks the data and
the HTML without a browser.

One browser for the module; every page must load with no console error and
draw every panel; hovering a heatmap cell shows the value the trace holds for
it; switching modes changes the picture; a screenshot is written."""

import re

import numpy as np
import pytest

import retrograd as rg
import retrograd.explore as rx
from retrograd import bptt, nn

from browser_support import INKED, launch_browser, open_page, requires_browser
from rnn_models import lstm_data, twin_models

pytestmark = requires_browser


@pytest.fixture(scope="module")
def browser():
    yield from launch_browser()


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    _, seq = twin_models("LSTM")
    xs, ys = lstm_data(T=16, B=3)
    path = tmp_path_factory.mktemp("explore") / "modes.html"
    ex = rx.explore(seq, xs, ys, rg.cross_entropy, [bptt.full(), bptt.chunk(4), bptt.williams_peng(2, 6),
                                                    bptt.tail(5), bptt.full(snapshots=3)], str(path))
    return ex


def _open(browser, path):
    return open_page(browser, path)


PANELS = ["flow-line", "heatmap", "reach", "conn-full", "conn-mode", "schedule"]


def _hover(page, panel, r, c):
    page.evaluate(f"document.getElementById('{panel}').scrollIntoView({{block: 'center'}})")
    p = page.evaluate(f"retrograd.cellCenter('{panel}', {r}, {c})")
    page.mouse.move(p["x"], p["y"])
    return page.evaluate("(() => { const t = document.getElementById('tooltip');"
                         " return {shown: t.style.display, value: t.dataset.value, step: t.dataset.step,"
                         " quantity: t.dataset.quantity, text: t.textContent}; })()")


def test_explorer_loads_draws_every_panel_and_hovers_the_traced_values(browser, explorer, tmp_path):
    page, errors = _open(browser, explorer.path)
    try:
        for i in range(len(explorer.traces)):  # every mode draws every panel
            page.select_option("#mode", str(i))
            for panel in PANELS:
                assert page.evaluate(INKED, panel) > 200, (i, panel)
        page.select_option("#mode", "1")  # chunk(4)
        tr = explorer.traces["chunk(4)"]
        labels = [q[1] for q in tr.quantities()]
        for t in (0, 5, 15):
            got = _hover(page, "heatmap", 0, t)
            assert got["shown"] == "block" and int(got["step"]) == t and got["quantity"] == "‖∂L/∂h‖"
            assert float(got["value"]) == tr.h_norm[t]  # exactly the trace's float64
        g = labels.index("gate f δ")
        assert float(_hover(page, "heatmap", g, 7)["value"]) == tr.gate_norm["f"][7]
        s = labels.index("rnn.weight_hh_l0 share")
        assert float(_hover(page, "heatmap", s, 3)["value"]) == tr.param_share["rnn.weight_hh_l0"][3]
        page.select_option("#row", "2")  # one batch row
        got = _hover(page, "heatmap", 0, 9)
        assert float(got["value"]) == tr.h_row_norm[9, 2] and "batch row 2" in got["text"]
        conn = tr.connectivity
        got = _hover(page, "conn-mode", 6, 5)  # ℓ6 ← x5: same chunk, kept
        assert got["shown"] == "block" and float(got["value"]) == conn.full_rows[2, 6, 5]
        got = _hover(page, "conn-mode", 6, 2)  # ℓ6 ← x2: another chunk, cut
        assert float(got["value"]) == 0.0 and "cut by the truncation" in got["text"]
        page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
        assert (tmp_path / "explorer.png").stat().st_size > 10_000
        assert errors == []
    finally:
        page.close()


def test_switching_modes_changes_the_picture(browser, explorer):
    page, errors = _open(browser, explorer.path)
    try:
        shots = {}
        for i, name in enumerate(explorer.traces):
            page.select_option("#mode", str(i))
            shots[name] = {p: page.evaluate(f"document.getElementById('{p}').toDataURL()") for p in
                           ("reach", "conn-mode", "schedule", "heatmap")}
        reach = {name: s["reach"] for name, s in shots.items()}
        # full() and its checkpointed twin reach alike; every other mode's reach differs
        assert reach["full()"] == reach["full(snapshots=3)"]
        assert len({reach[n] for n in ("full()", "chunk(4)", "williams_peng(2, 6)", "tail(5)")}) == 4
        assert shots["full()"]["schedule"] != shots["full(snapshots=3)"]["schedule"]
        assert shots["chunk(4)"]["heatmap"] != shots["tail(5)"]["heatmap"]
        assert "binomial checkpointing" in page.inner_text("#schedule-note")
        assert errors == []
    finally:
        page.close()


def test_explain_page_graph_is_clickable(browser, tmp_path):
    rg.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    h, c = cell(x, None)
    loss = (cell(x, (h, c))[0] ** 2).sum()
    g = rx.explain_html(loss, str(tmp_path / "graph.html"))
    page, errors = _open(browser, g.path)
    try:
        assert page.evaluate(INKED, "graph") > 200
        p = page.evaluate("retrograd.nodeCenter(3)")
        page.mouse.click(p["x"], p["y"])
        details = page.inner_text("#details")
        assert g.rows[3][1] in details and "sends gradient to" in details
        assert page.get_attribute('#steps tr[data-step="3"]', "class") == "sel"
        page.click('#steps tr[data-step="0"]')
        assert str(g.rows[0][1]) in page.inner_text("#details")
        page.screenshot(path=str(tmp_path / "graph.png"), full_page=True)
        assert errors == []
    finally:
        page.close()


def test_tooltips_round_for_reading_and_stay_inside_the_window(browser, explorer):
    """The tooltip's text shows 6 significant digits (its data-value keeps the float64 the page
    embeds), and a tooltip near the right edge opens leftwards instead of being cut."""
    page, errors = _open(browser, explorer.path)
    try:
        page.select_option("#mode", "0")
        T = explorer.traces["full()"].T
        got = _hover(page, "heatmap", 0, T - 1)  # the last step: the canvas's right edge
        assert got["shown"] == "block"
        assert not re.search(r"\d\.\d{7,}", got["text"]), got["text"]
        box = page.evaluate("(() => { const r = document.getElementById('tooltip').getBoundingClientRect();"
                            " return {right: r.right, width: window.innerWidth}; })()")
        assert box["right"] <= box["width"], box
        assert errors == []
    finally:
        page.close()


def test_explain_labels_contrast_with_their_boxes(browser, tmp_path):
    """A label is drawn in whichever of white and black contrasts more with its box (WCAG's
    relative luminance; the colour scale runs from near-black to pale yellow)."""
    rg.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    x = rg.tensor(np.random.default_rng(0).standard_normal((2, 3)))
    loss = (cell(x, None)[0] ** 2).sum()
    g = rx.explain_html(loss, str(tmp_path / "graph.html"))
    page, errors = _open(browser, g.path)
    try:
        n = len(page.evaluate("retrograd.data.steps"))
        for i in range(n):
            box = page.evaluate(f"retrograd.boxColour({i})")
            ink = page.evaluate(f"retrograd.labelColour({i})")
            if box.startswith("rgb("):
                lin = [(v / 255 / 12.92 if v / 255 <= 0.03928 else ((v / 255 + 0.055) / 1.055) ** 2.4)
                       for v in (int(c) for c in box[4:-1].split(","))]
                L = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
                assert (ink == "#fff") == (1.05 / (L + 0.05) > (L + 0.05) / 0.05), (i, box, ink)
        assert errors == []
    finally:
        page.close()


def test_the_difference_view_shows_what_the_truncation_changes(browser, explorer):
    """"show: difference from full()": a chunk(4) cell holds |chunk − full| of its quantity (the
    tooltip's value), and full() itself shows zero difference nowhere else than itself."""
    page, errors = _open(browser, explorer.path)
    try:
        page.evaluate("retrograd.setMode(1)")  # chunk(4)
        page.evaluate("retrograd.setView('diff')")
        tr, ref = explorer.traces["chunk(4)"], explorer.traces["full()"]
        for t in (0, 2, 9):
            got = _hover(page, "heatmap", 0, t)
            assert float(got["value"]) == abs(tr.h_norm[t] - ref.h_norm[t]), t
            assert "difference from full()" in got["text"]
        assert any(abs(a - b) > 0 for a, b in zip(tr.h_norm, ref.h_norm))  # the view has something to show
        page.evaluate("retrograd.setMode(0)")  # full() against itself: plain values
        got = _hover(page, "heatmap", 0, 2)
        assert float(got["value"]) == ref.h_norm[2] and "difference" not in got["text"]
        assert errors == []
    finally:
        page.close()
