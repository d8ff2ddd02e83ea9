"""Issue 10, review decisions that could be lost: a damaged journal and failed writes."""

from __future__ import annotations

import errno
import json

import pytest

from quoradup_gui.core.review import decisions
from quoradup_gui.core.review.decisions import JOURNAL_VERSION, DecisionLog, DecisionNotSaved, JournalTooNew, action_for

from ..conftest import fill_disk

TEXTS = [f"Question number {i}?" for i in range(40)]


def merge(i: int):
    return action_for("merge", TEXTS, [2 * i, 2 * i + 1], f"merge {i}")


def good_line(i: int) -> str:
    return json.dumps({"v": 1, "op": "do", "action": merge(i).to_json()})


# ----------------------------------------------------------------------------- 7. damaged journals


@pytest.mark.parametrize("bad", ["null", "42", "[1, 2]", '"text"', '{"v": 1, "op": "do", "action": null}',
                                 '{"op": "explode"}', "garbage {", "\x00\x01\x02\xff"])
def test_every_good_entry_loads_and_the_bad_ones_are_set_aside(tmp_path, bad):
    path = tmp_path / "s.jsonl"
    raw = (good_line(0) + "\n").encode() + bad.encode("latin-1") + b"\n" + (good_line(1) + "\n").encode()
    path.write_bytes(raw)
    log = DecisionLog.open(path)
    assert [a.label for a in log.applied] == ["merge 0", "merge 1"]
    assert len(log.notes) == 1 and "1 saved review entry of this file could not be read" in log.notes[0]
    side = list(tmp_path.glob("s.damaged-*.jsonl"))
    assert len(side) == 1 and side[0].read_bytes() == bad.encode("latin-1") + b"\n"
    again = DecisionLog.open(path)  # the journal was cleaned: no second message
    assert again.notes == [] and len(again) == 2


def test_a_torn_last_line_is_reported_and_the_next_decision_lands_whole(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(good_line(0) + "\n" + good_line(1)[:25], encoding="utf-8")  # killed mid-write
    log = DecisionLog.open(path)
    assert len(log) == 1 and "cut off" in log.notes[0]
    log.do(merge(2))
    assert [a.label for a in DecisionLog.open(path).applied] == ["merge 0", "merge 2"]


def test_a_zero_byte_journal_is_reported(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"")
    log = DecisionLog.open(path)
    assert len(log) == 0 and "empty (0 bytes" in log.notes[0]


def test_a_newer_journal_version_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "s.jsonl"
    content = good_line(0) + "\n" + json.dumps({"v": JOURNAL_VERSION + 1, "op": "do", "action": merge(1).to_json()}) + "\n"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(JournalTooNew, match="newer version of quoradup"):
        DecisionLog.open(path)
    assert path.read_text(encoding="utf-8") == content


# ----------------------------------------------------------------------------- 8. failed writes


def test_a_failed_write_is_not_a_decision(tmp_path, monkeypatch):
    path = tmp_path / "s.jsonl"
    log = DecisionLog.open(path)
    log.do(merge(0))

    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(decisions, "_write_all", disk_full)
    with pytest.raises(DecisionNotSaved, match="This decision was not saved: the disk is full"):
        log.do(merge(1))
    assert len(log) == 1 and not log.can_redo()  # not in memory, not in Undo
    with pytest.raises(DecisionNotSaved):
        log.undo()
    assert len(log) == 1


def test_a_partial_write_is_cut_before_the_next_append(tmp_path, monkeypatch):
    """30 acknowledged decisions, one torn write among them: all 30 come back."""
    path = tmp_path / "s.jsonl"
    log = DecisionLog.open(path)
    real = decisions._write_all
    acknowledged = 0
    for i in range(31):
        if i == 10:
            def half_then_full(fd, data):
                real(fd, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(decisions, "_write_all", half_then_full)
        try:
            log.do(merge(i % 20))
            acknowledged += 1
        except DecisionNotSaved:
            pass
        monkeypatch.setattr(decisions, "_write_all", real)
    assert acknowledged == 30
    reopened = DecisionLog.open(path)
    assert len(reopened) == 30 and reopened.notes == []


def test_a_real_full_disk(tiny_disk):

    path = tiny_disk / "s.jsonl"
    log = DecisionLog.open(path)
    log.do(merge(0))
    fill_disk(tiny_disk)
    failed = 0
    for i in range(1, 200):  # the file's last page has room for a few lines
        try:
            log.do(merge(i % 20))
        except DecisionNotSaved as exc:
            assert "the disk is full" in str(exc)
            failed += 1
    assert failed >= 1
    (tiny_disk / ".filler").unlink()
    log.do(merge(9))
    reopened = DecisionLog.open(path)
    assert [a.label for a in reopened.applied] == [a.label for a in log.applied] and reopened.notes == []


def test_a_read_only_folder(readonly_folder):
    log = DecisionLog.open(readonly_folder / "s.jsonl")
    with pytest.raises(DecisionNotSaved, match="read-only"):
        log.do(merge(0))
    assert len(log) == 0
