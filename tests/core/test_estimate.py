"""Issue 12.9: the estimate is of the clusters an export would write (pairwise, on the file's
labels and the review's decisions), and Best F1 picks the threshold whose clusters score best."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.mine.clustering import Constraints
from quoradup_gui.core.mine.mining import MiningParams, mine_collection
from quoradup_gui.core.review.estimate import SWEEP, best_cluster_threshold, estimate_clusters, judged_pairs
from quoradup_gui.core.review.session import ReviewSession

from ..conftest import GROUPS, OTHERS


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """A pair file: every pair inside a paraphrase group is a duplicate, one pair across groups is not."""
    rows = [(a, b, 1) for g in GROUPS for a, b in itertools.combinations(g, 2)]
    rows += [(g[0], h[0], 0) for g, h in itertools.combinations(GROUPS, 2)]
    rows += [(GROUPS[0][0], other, 0) for other in OTHERS]
    path = tmp_path_factory.mktemp("estimate") / "pairs.csv"
    pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"]).to_csv(path, index=False)
    session = ReviewSession.open(read_table(path), journal=False)
    cache = tmp_path_factory.mktemp("estimate-cache")
    session.set_mined(mine_collection(session.collection.texts, MiningParams(backend="torch", cache_dir=cache)))
    return session


def by_hand(session, pairs, threshold, mode):
    labels = session.mined.cluster(threshold, mode=mode, constraints=Constraints()).labels
    together = [labels[a] == labels[b] for a, b in zip(pairs.row1, pairs.row2)]
    tp = sum(t and y == 1 for t, y in zip(together, pairs.labels))
    predicted, positive = sum(together), int(pairs.labels.sum())
    precision = tp / predicted if predicted else 1.0
    recall = tp / positive
    return precision, recall


@pytest.mark.parametrize("mode", ["connected", "community"])
def test_precision_and_recall_are_those_of_the_clusters(labelled, mode):
    pairs = judged_pairs(labelled.collection, labelled.resolved)
    assert pairs.n_from_file == len(pairs) and pairs.n_from_review == 0
    for threshold in (0.6, 0.75, 0.9):
        estimate = estimate_clusters(labelled.mined, pairs, threshold, mode)
        assert (estimate.precision, estimate.recall) == pytest.approx(by_hand(labelled, pairs, threshold, mode))
        assert estimate.mode == mode and estimate.n_positive == int(pairs.labels.sum())


def test_best_f1_is_the_best_over_the_sweep(labelled):
    pairs = judged_pairs(labelled.collection, labelled.resolved)
    best = best_cluster_threshold(labelled.mined, pairs, "connected")
    f1s = [estimate_clusters(labelled.mined, pairs, t, "connected").f1 for t in SWEEP]
    assert best.f1 == pytest.approx(max(f1s))
    assert best.threshold == max(t for t, f in zip(SWEEP, f1s) if f == pytest.approx(max(f1s)))


def test_review_decisions_are_judged_pairs_too(labelled):
    from quoradup_gui.core.review.decisions import ResolvedDecisions

    constraints = Constraints(must_link=((0, 1), (2, 3)), cannot_link=((0, 5),))
    resolved = ResolvedDecisions(constraints, {}, frozenset())
    pairs = judged_pairs(labelled.collection, resolved)
    assert pairs.n_from_review == 3 and len(pairs) == pairs.n_from_file + 3
    assert pairs.labels[-3:].tolist() == [1, 1, 0]
    assert np.array_equal(pairs.row1[-3:], [0, 2, 0])
