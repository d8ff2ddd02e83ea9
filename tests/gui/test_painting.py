"""Painting must not corrupt the interpreter.

shiboken6 6.12.0 gives back one reference to None too many on every void QPainter call
(setPen, save, drawLine…). On Python 3.11 None is not immortal, so after a few hundred repaints
of a live plot the app dies with "Fatal Python error: none_dealloc". constraints.txt pins a
release without the bug; this test fails on one with it.
"""

from __future__ import annotations

import sys

import numpy as np

from quoradup_gui.gui.plots import LivePlot
from quoradup_gui.gui.widgets import LengthHistogram, SimilarityHistogram

REPAINTS = 40


def _none_refs_lost_while(qtbot, widget, update) -> int:
    qtbot.addWidget(widget)
    widget.resize(400, 250)
    widget.show()
    qtbot.waitExposed(widget)
    widget.repaint()  # first paint: caches fill, lazy imports run
    before = sys.getrefcount(None)
    for i in range(REPAINTS):
        update(i)
        widget.repaint()
    return before - sys.getrefcount(None)


def test_live_plot_repaints_keep_none_alive(qtbot):
    plot = LivePlot("Held-out pairs", "score", {"AP": "#1f5fbf", "F1": "#d9822b"})

    def update(i: int) -> None:
        plot.append("AP", i, 0.7 + i / 1000)
        plot.append("F1", i, 0.6 + i / 900)

    lost = _none_refs_lost_while(qtbot, plot, update)
    assert len(plot.points("AP")) == REPAINTS
    assert lost < 200, f"{lost} references to None lost in {REPAINTS} repaints (a shiboken6 refcount bug)"


def test_histograms_repaint_keep_none_alive(qtbot):
    lengths = LengthHistogram()
    lengths.set_bins(tuple((20 * i, 5 + i) for i in range(12)))
    similarity = SimilarityHistogram()
    similarity.set_scores(np.random.default_rng(0).uniform(0.5, 1.0, 2_000))
    lost = _none_refs_lost_while(qtbot, lengths, lambda i: None)
    lost += _none_refs_lost_while(qtbot, similarity, lambda i: similarity.set_threshold(0.6 + i / 200))
    assert lost < 200, f"{lost} references to None lost in {2 * REPAINTS} repaints (a shiboken6 refcount bug)"
