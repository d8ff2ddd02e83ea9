"""Review decisions: constraints from actions, undo/redo, the crash-safe journal."""

from quoradup_gui.core.review.decisions import DecisionLog, action_for

TEXTS = ["How do I reset my password?", "I forgot my password", "Reset password how",
         "Where is my order?", "Track my package", "How do I reset my password? "]


def test_actions_become_row_constraints():
    log = DecisionLog()
    log.do(action_for("confirm", TEXTS, [0, 1, 2], "confirm"))
    log.do(action_for("split", TEXTS, [2, 0, 1], "not a duplicate"))
    log.do(action_for("merge", TEXTS, [3, 4], "merge"))
    log.do(action_for("canonical", TEXTS, [5], "keep"))
    log.do(action_for("edit", TEXTS, [3], "edit", text="Where is my order right now?"))
    resolved = log.resolve(TEXTS)
    c = resolved.constraints
    assert (0, 1) in c.must_link and (3, 4) in c.must_link
    assert not any(2 in pair for pair in c.must_link)
    assert {(0, 2), (1, 2)} <= set(c.cannot_link)
    assert c.canonical == (5,)  # the exact row chosen, although row 0 has the same text
    assert resolved.edits == {3: "Where is my order right now?"}
    assert resolved.confirmed_rows == {0, 1}
    pairs = resolved.labelled_pairs(TEXTS)
    assert (TEXTS[0], TEXTS[1], 1) in pairs and (TEXTS[0], TEXTS[2], 0) in pairs


def test_undo_redo_and_new_action_clears_redo():
    log = DecisionLog()
    log.do(action_for("merge", TEXTS, [3, 4]))
    assert log.undo() is not None and log.resolve(TEXTS).constraints.must_link == ()
    assert log.redo() is not None and log.resolve(TEXTS).constraints.must_link == ((3, 4),)
    log.undo()
    log.do(action_for("merge", TEXTS, [0, 1]))
    assert not log.can_redo() and log.resolve(TEXTS).constraints.must_link == ((0, 1),)


def test_journal_replays_and_survives_a_torn_line(tmp_path):
    path = tmp_path / "s.jsonl"
    log = DecisionLog.open(path)
    log.do(action_for("merge", TEXTS, [3, 4]))
    log.do(action_for("split", TEXTS, [1, 0]))
    log.undo()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"v": 1, "op": "do", "action": {"kind": "mer')  # killed mid-write
    again = DecisionLog.open(path)
    assert [a.kind for a in again.applied] == ["merge"] and [a.kind for a in again.undone] == ["split"]
    again.redo()
    assert [a.kind for a in DecisionLog.open(path).applied] == ["merge", "split"]


def test_decisions_follow_texts_when_rows_move():
    log = DecisionLog()
    log.do(action_for("split", TEXTS, [1, 0]))
    moved = [TEXTS[3], TEXTS[1], TEXTS[4], TEXTS[0]]  # reordered file, some rows gone
    assert log.resolve(moved).constraints.cannot_link == ((1, 3),)
