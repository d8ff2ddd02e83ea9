"""ReviewSession without Qt: one gesture one undo, pinned confirmations, a stable kept question."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.mine.mining import MiningParams, mine_collection
from quoradup_gui.core.review.session import ReviewSession, SessionClosed


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("session-cache")


def open_mined(path, cache_dir, threshold=0.75, **kw) -> ReviewSession:
    session = ReviewSession.open(read_table(path), **kw)
    session.set_mined(mine_collection(session.collection.texts, MiningParams(backend="torch", cache_dir=cache_dir)))
    session.show(session.cluster(threshold))
    return session


def recluster(session, threshold=0.75):
    session.show(session.cluster(threshold))
    return session.clustering


def cluster_of(session, row) -> int:
    return int(session.clustering.labels[row])


def test_a_multi_member_split_is_one_undo(faq, cache_dir):
    s = open_mined(faq, cache_dir)
    cid = cluster_of(s, 0)
    members = [int(r) for r in s.clustering.members(cid)]
    kept = int(s.clustering.canonical[cid])
    out = [r for r in members if r != kept][:2]
    s.split(cid, out)
    c = recluster(s)
    assert all(c.labels[r] != c.labels[kept] for r in out)
    assert len(s.log) == 1 and s.undo_label() == "2 not duplicates"
    s.undo()
    c = recluster(s)
    assert all(c.labels[r] == c.labels[kept] for r in out)


def test_a_drag_move_is_one_undo(faq, cache_dir):
    s = open_mined(faq, cache_dir)
    source, target = cluster_of(s, 0), cluster_of(s, 4)
    row = next(int(r) for r in s.clustering.members(source) if r != s.clustering.canonical[source])
    s.move([row], target)
    c = recluster(s)
    assert c.labels[row] == c.labels[4] and len(s.log) == 1
    s.undo()
    c = recluster(s)
    assert c.labels[row] == c.labels[0]  # one undo: back where it was, never in neither cluster


def test_a_merge_of_three_clusters_is_one_action(faq, cache_dir):
    s = open_mined(faq, cache_dir)
    s.merge([cluster_of(s, 0), cluster_of(s, 4), cluster_of(s, 7)])
    c = recluster(s)
    assert c.labels[0] == c.labels[4] == c.labels[7] and len(s.log) == 1


def test_a_confirmation_pins_what_the_user_saw_and_later_arrivals_are_new(faq, cache_dir):
    s = open_mined(faq, cache_dir, threshold=0.9)
    cid = cluster_of(s, 4)
    seen = {int(r) for r in s.clustering.members(cid)}
    assert seen == {4, 6}  # "Where's my parcel?" and "Where is my parcel?"; "package" is at 0.71
    s.confirm(cid)
    c = recluster(s, 0.7)  # a lower threshold (or another model) brings "package" in
    cid = cluster_of(s, 4)
    assert {int(r) for r in c.members(cid)} == {4, 5, 6}
    marks = s.marks(c)
    assert marks.confirmed[cid] and marks.n_new[cid] == 1 and marks.new_rows == {5}
    assert marks.describe(cid) == "confirmed, 1 new"
    s.confirm(cid)  # confirming again takes the new one in
    assert s.marks(recluster(s, 0.7)).n_new[cluster_of(s, 4)] == 0


def test_unconfirm(faq, cache_dir):
    s = open_mined(faq, cache_dir, threshold=0.75)
    s.confirm(cluster_of(s, 4))
    c = recluster(s, 0.99)
    assert c.labels[4] == c.labels[6]  # confirmed: together at any threshold
    assert s.unconfirm(cluster_of(s, 4))
    c = recluster(s, 0.99)
    assert c.labels[4] != c.labels[6] and not s.marks(c).confirmed.any()
    assert s.undo_label() == "unconfirm cluster of 2"


def test_the_kept_question_stays_when_a_member_is_taken_out(faq, cache_dir):
    s = open_mined(faq, cache_dir)
    cid = cluster_of(s, 0)
    kept = int(s.clustering.canonical[cid])
    s.confirm(cid)
    recluster(s)
    for _ in range(2):  # take members out one at a time; the ★ never moves on its own
        cid = cluster_of(s, kept)
        other = next(int(r) for r in s.clustering.members(cid) if r != kept)
        assert "Took 1 question out" in s.split(cid, [other])
        recluster(s)
        assert int(s.clustering.canonical[cluster_of(s, kept)]) == kept
    message = s.split(cluster_of(s, kept), [kept])
    assert "kept question was taken out" in message


def test_decisions_reach_the_journal_once_per_gesture_and_a_closed_session_refuses(faq, cache_dir):
    s = open_mined(faq, cache_dir)
    cid = cluster_of(s, 0)
    s.split(cid, [int(r) for r in s.clustering.members(cid)][1:3])
    lines = s.log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["action"]["kind"] == "group"
    again = open_mined(faq, cache_dir)
    assert len(again.log) == 1 and again.resolved.constraints == s.resolved.constraints
    s.close()
    assert not s.can_undo()
    with pytest.raises(SessionClosed):
        s.keep(0)
    assert len(s.log.path.read_text(encoding="utf-8").splitlines()) == 1


def test_a_session_without_journal_or_with_another(faq, cache_dir, tmp_path):
    s = open_mined(faq, cache_dir)
    s.confirm(cluster_of(s, 0))
    assert len(open_mined(faq, cache_dir, journal=False).log) == 0
    other = tmp_path / "other.jsonl"
    o = open_mined(faq, cache_dir, journal=other)
    assert len(o.log) == 0 and o.log.path == other
    assert np.array_equal(open_mined(faq, cache_dir).resolved.constraints.must_link,
                          s.resolved.constraints.must_link)
