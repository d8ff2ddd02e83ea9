"""The closed loop without Qt: the Check pairs queue, answers in the journal, the review as
training data, training from the review, and what changed between two models."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.mine.clustering import Clustering
from quoradup_gui.core.mine.diff import diff_clusterings
from quoradup_gui.core.mine.mining import MiningParams, mine_collection
from quoradup_gui.core.resources import demo_collection_path
from quoradup_gui.core.review.decisions import DecisionLog, JournalTooNew
from quoradup_gui.core.review.labels import review_pairs
from quoradup_gui.core.review.queue import DecidedPairs, pair_queue
from quoradup_gui.core.review.session import ReviewSession
from tests.conftest import demo_truth

THRESHOLD = 0.8


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("loop-cache")


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = tmp_path / "faq.csv"
    shutil.copyfile(demo_collection_path(), path)
    return path


def open_session(path, cache_dir, threshold=THRESHOLD, **kw) -> ReviewSession:
    session = ReviewSession.open(read_table(path), **kw)
    session.set_mined(mine_collection(session.collection.texts, MiningParams(backend="torch", cache_dir=cache_dir)))
    session.show(session.cluster(threshold))
    return session


def answer_all(session, pairs, same=None):
    same = same or demo_truth()
    for p in pairs:
        session.answer(p.row1, p.row2, "duplicate" if same(p.row1, p.row2) else "not")
    session.show(session.cluster(THRESHOLD))


def test_the_queue_spreads_across_clusters_and_sits_near_the_threshold(demo, cache_dir):
    s = open_session(demo, cache_dir)
    queue = pair_queue(s.mined, s.clustering, s.resolved, 20)
    assert len(queue) == 20
    rows = [r for p in queue for r in (p.row1, p.row2)]
    assert len(set(rows)) == len(rows)  # each question once
    clusters = [int(s.clustering.labels[p.row1]) for p in queue]
    assert len(set(clusters)) == len(clusters)  # twenty places, not twenty pairs from one cluster
    assert all(abs(p.score - THRESHOLD) <= 0.15 or p.together != (p.score >= THRESHOLD) for p in queue)
    # most unsure first: the first pairs are at least as close to the threshold as the last ones
    assert abs(queue[0].score - THRESHOLD) <= abs(queue[-1].score - THRESHOLD) + 0.05


def test_the_queue_never_offers_a_decided_or_implied_pair(demo, cache_dir):
    s = open_session(demo, cache_dir)
    first = pair_queue(s.mined, s.clustering, s.resolved, 30)
    answer_all(s, first[:15])
    # a confirmed cluster implies all its pairs; a split implies its member is apart from the rest
    big = int(s.clustering.multi_clusters()[0])
    s.confirm(big)
    s.show(s.cluster(THRESHOLD))
    decided = DecidedPairs(s.resolved, s.mined.n)
    members = [int(r) for r in s.clustering.members(big)]
    assert (members[0], members[1]) in decided
    again = pair_queue(s.mined, s.clustering, s.resolved, 200)
    offered = {(p.row1, p.row2) for p in again}
    assert not offered & {(p.row1, p.row2) for p in first[:15]}
    assert not any(a in members and b in members for a, b in offered)
    assert not any((a, b) in decided for a, b in offered)
    # once answered not-a-duplicate, pairs between the two sides are implied as well
    a, b = first[15].row1, first[15].row2
    s.answer(a, b, "not")
    assert (a, b) in DecidedPairs(s.resolved, s.mined.n)


def test_answers_are_decisions_with_one_undo_each(demo, cache_dir):
    s = open_session(demo, cache_dir)
    q = pair_queue(s.mined, s.clustering, s.resolved, 3)
    s.answer(q[0].row2, q[0].row1, "duplicate")  # either order, one pair
    s.answer(q[1].row1, q[1].row2, "not")
    s.answer(q[2].row1, q[2].row2, "unsure")
    assert s.resolved.answer_counts() == (1, 1, 1)
    c = s.resolved.constraints
    assert (q[0].row1, q[0].row2) in c.must_link and (q[1].row1, q[1].row2) in c.cannot_link
    clustering = s.cluster(0.5)
    assert clustering.labels[q[0].row1] == clustering.labels[q[0].row2]
    assert clustering.labels[q[1].row1] != clustering.labels[q[1].row2]
    assert s.undo_label() == "unsure pair"
    s.undo()
    assert s.resolved.answer_counts() == (1, 1, 0)
    # the journal: answers are version 2 lines; a reopened session sees the same
    lines = [json.loads(line) for line in s.log.path.read_text().splitlines()]
    assert [line["v"] for line in lines] == [2, 2, 2, 1]
    reopened = ReviewSession.open(read_table(demo))
    assert reopened.resolved.answers == s.resolved.answers


def test_a_journal_newer_than_version_2_is_refused(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text(json.dumps({"v": 3, "op": "do", "action": {"kind": "answer", "keys": ["a", "b"]}}) + "\n")
    with pytest.raises(JournalTooNew):
        DecisionLog.open(path)


def test_review_pairs_hold_answers_confirmations_and_splits(faq, cache_dir):
    s = open_session(faq, cache_dir, threshold=0.75)
    password = int(s.clustering.labels[0])
    members = sorted(int(r) for r in s.clustering.members(password))
    s.confirm(password)
    s.show(s.cluster(0.75))
    s.answer(0, 10, "not")  # "Why is the sky blue?"
    s.answer(7, 8, "duplicate")
    s.answer(4, 11, "unsure")
    rows = review_pairs(s.collection, s.resolved)
    got = {(int(a), int(b)): int(y) for a, b, y in zip(rows.row1, rows.row2, rows.labels)}
    n = len(members)
    assert sum(1 for a, b in got if a in members and b in members) == n * (n - 1) // 2  # every pair of the cluster
    assert got[(0, 10)] == 0 and got[(7, 8)] == 1 and (4, 11) not in got
    assert rows.n_review == len(rows)


def test_training_from_the_review_runs_and_never_touches_the_model_in_use(demo, cache_dir, tmp_path):
    from quoradup_gui.core.errors import QuoradupError
    from quoradup_gui.core.loop.improve import TooFewLabels, train_from_review
    from tests.core.conftest import copy_model_folder

    in_use = copy_model_folder(tmp_path / "in-use", link_weights=False)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in in_use.rglob("*") if p.is_file()}
    s = open_session(demo, cache_dir)
    answer_all(s, pair_queue(s.mined, s.clustering, s.resolved, 8))
    with pytest.raises(TooFewLabels, match="more pair"):
        train_from_review(s, str(in_use))
    answer_all(s, pair_queue(s.mined, s.clustering, s.resolved, 40))
    with pytest.raises(QuoradupError, match="the model being improved"):
        train_from_review(s, str(in_use), output_dir=in_use)
    result = train_from_review(s, str(in_use), output_dir=tmp_path / "improved", epochs=1.0)
    assert result.output == tmp_path / "improved" and (result.output / "quoradup_training.json").exists()
    assert result.base is not None and result.trained is not None and result.n_eval_pairs >= 4
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in in_use.rglob("*") if p.is_file()}
    assert after == before
    # and the improved model can be improved again
    again = train_from_review(s, str(result.output), epochs=0.5)
    assert again.output != result.output and "improved-review-" in again.output.name


def _clustering(labels, threshold=0.8) -> Clustering:
    labels = np.asarray(labels, np.int32)
    n_clusters = int(labels.max()) + 1
    canonical = np.array([np.flatnonzero(labels == c)[0] for c in range(n_clusters)], np.int32)
    return Clustering(labels, canonical, np.ones(len(labels), np.float32), threshold, "connected", "central")


def test_the_diff_names_the_cluster_a_planted_change_creates():
    before = _clustering([0, 1, 2, 3, 3, 4, 4, 4, 5, 6])  # (3,4) and (5,6,7) are clusters
    after = _clustering([0, 0, 1, 2, 3, 4, 4, 5, 6, 6])  # (0,1) appears, (3,4) disappears, (5,6,7) -> (5,6), (8,9) new
    diff = diff_clusterings(before, after)
    kinds = {c.kind: c for c in diff.changes}
    assert {c.rows for c in diff.changes if c.kind == "appears"} == {(0, 1), (8, 9)}
    assert kinds["disappears"].rows == (3, 4)
    assert kinds["shrinks"].rows == (5, 6) and kinds["shrinks"].lost == (7,)
    grown = diff_clusterings(after, before)
    assert any(c.kind == "grows" and c.rows == (5, 6, 7) and c.gained == (7,) for c in grown.changes)
    assert diff.summary().startswith("clusters: 2 new, 1 gone, 1 shrunk")


def test_crossed_pairs_come_from_either_model(demo, cache_dir):
    from quoradup_gui.core.mine.diff import crossed_pairs

    s = open_session(demo, cache_dir)
    mined = s.mined
    other = mined.embeddings.copy()
    a, b = int(mined.graph.sources[0]), int(mined.graph.targets[0])  # the most similar pair
    other[b] = -other[a]  # planted: the new model calls them opposites
    crossed = crossed_pairs(mined.embeddings, other, (mined.graph,), THRESHOLD)
    assert crossed[0].row1 == a and crossed[0].row2 == b and not crossed[0].joined


def test_answers_move_the_queue_to_where_the_model_is_unsure(demo, cache_dir):
    from quoradup_gui.core.review.queue import even_score

    s = open_session(demo, cache_dir)
    assert even_score(s.mined.embeddings, s.resolved, THRESHOLD) == THRESHOLD  # no answers: the threshold
    first = pair_queue(s.mined, s.clustering, s.resolved, 60)
    scores = sorted(p.score for p in first)
    cut = int(0.9 * len(scores))  # six duplicates, all above the threshold
    boundary = (scores[cut] + scores[cut - 1]) / 2
    # a reviewer for whom only the pairs above `boundary` are duplicates
    for p in first:
        s.answer(p.row1, p.row2, "duplicate" if p.score > boundary else "not")
    centre = even_score(s.mined.embeddings, s.resolved, THRESHOLD)
    assert boundary > THRESHOLD + 0.03 and abs(centre - boundary) < 0.02
    s.show(s.cluster(THRESHOLD))
    moved = pair_queue(s.mined, s.clustering, s.resolved, 20)
    held = pair_queue(s.mined, s.clustering, s.resolved, 20, calibrate=False)
    # the most unsure pairs come first: with the answers, those near the even score
    assert np.mean([abs(p.score - centre) for p in moved[:5]]) < np.mean([abs(p.score - centre) for p in held[:5]])
    # answers that do not rise with similarity say nothing of where the even score is
    s2 = open_session(demo, cache_dir, journal=False)
    for p in first:
        s2.answer(p.row1, p.row2, "not" if p.score > boundary else "duplicate")
    assert even_score(s2.mined.embeddings, s2.resolved, THRESHOLD) == THRESHOLD
