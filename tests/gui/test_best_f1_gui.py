"""Issue 12.9 in the window: the estimate is of the clusters (and changes with the mode), Best F1
picks the clusters' optimum, and the threshold is remembered per file and model."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from quoradup_gui.core.review.estimate import best_cluster_threshold, judged_pairs

from ..conftest import GROUPS, OTHERS
from .test_duplicates_tab import open_and_mine, wait_reclustered
from .test_review_gui import at


@pytest.fixture
def pair_file(tmp_path):
    rows = [(a, b, 1) for g in GROUPS for a, b in itertools.combinations(g, 2)]
    rows += [(g[0], h[0], 0) for g, h in itertools.combinations(GROUPS, 2)]
    rows += [(GROUPS[0][0], other, 0) for other in OTHERS]
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"]).to_csv(path, index=False)
    return path


def test_estimate_and_best_f1_are_those_of_the_clusters(qtbot, window, pair_file):
    tab = open_and_mine(qtbot, window, pair_file)
    at(qtbot, tab, 0.7)
    text = tab.estimate_label.text()
    assert tab.estimate_label.isVisible() and tab.best_f1_button.isVisible()
    n = len(judged_pairs(tab.session.collection, tab.session.resolved))
    assert f"The clusters at 0.700 (kept question), checked on {n:,} judged pairs" in text
    expected = best_cluster_threshold(tab.mined, judged_pairs(tab.session.collection, tab.session.resolved),
                                     str(tab.mode_combo.currentData()))
    with qtbot.waitSignal(tab.sig_status_message, timeout=60_000, check_params_cb=lambda m: m.startswith("Best F1")):
        tab.best_f1_button.click()
    wait_reclustered(qtbot, tab)
    assert tab.threshold() == pytest.approx(expected.threshold)
    assert f"F1 {expected.f1:.2f}" in tab.estimate_label.text()
    tab.mode_combo.setCurrentIndex(tab.mode_combo.findData("community"))
    qtbot.waitUntil(lambda: "(community)" in tab.estimate_label.text(), timeout=60_000)


def test_the_threshold_is_remembered_per_file_and_model(qtbot, window, faq, pair_file):
    tab = open_and_mine(qtbot, window, faq)
    at(qtbot, tab, 0.91)
    open_and_mine(qtbot, window, pair_file)
    at(qtbot, tab, 0.66)
    open_and_mine(qtbot, window, faq)
    wait_reclustered(qtbot, tab)
    assert tab.threshold() == pytest.approx(0.91)
    open_and_mine(qtbot, window, pair_file)
    wait_reclustered(qtbot, tab)
    assert tab.threshold() == pytest.approx(0.66)
