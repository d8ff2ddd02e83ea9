"""`quoradup review --queue / --answers` and `quoradup train --from-review`, in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest

from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.resources import demo_collection_path
from quoradup_gui.core.review.session import ReviewSession
from tests.cli.test_cli import quoradup
from tests.conftest import demo_truth


@pytest.fixture
def demo(tmp_path):
    path = tmp_path / "faq.csv"
    shutil.copyfile(demo_collection_path(), path)
    return path


def env_for(data_home):
    return {**os.environ, "XDG_DATA_HOME": str(data_home)}


def queue(demo, env, n=30):
    result = quoradup("review", str(demo), "--queue", str(n), "--threshold", "0.8", "--json", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["pairs"]


def write_answers(path, pairs, by="text"):
    same = demo_truth()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"{by}1", f"{by}2", "is_duplicate"])
        for p in pairs:
            answer = 1 if same(p["row1"] - 1, p["row2"] - 1) else 0
            writer.writerow([p[f"{by}1"], p[f"{by}2"], answer])
    return path


def journal_lines(data_home) -> list[str]:
    (journal,) = (data_home / "quoradup" / "sessions").glob("*.jsonl")
    return journal.read_text(encoding="utf-8").splitlines()


def test_queue_json_names_rows_as_the_clusters_export(demo, tmp_path):
    pairs = queue(demo, env_for(tmp_path / "d"), 10)
    assert len(pairs) == 10 and set(pairs[0]) == {"row1", "row2", "text1", "text2", "score"}
    texts = [row["question"] for row in csv.DictReader(open(demo, encoding="utf-8"))]
    assert all(texts[p["row1"] - 1] == p["text1"] and texts[p["row2"] - 1] == p["text2"] for p in pairs)
    assert all(0.5 <= p["score"] <= 1.0 for p in pairs)


def test_answers_by_text_by_row_and_by_hand_make_one_journal(demo, tmp_path, monkeypatch):
    pairs = queue(demo, env_for(tmp_path / "a"), 12)
    for by, home in (("text", tmp_path / "a"), ("row", tmp_path / "b")):
        answers = write_answers(tmp_path / f"answers-{by}.csv", pairs, by)
        result = quoradup("review", str(demo), "--answers", str(answers), "--json", env=env_for(home))
        assert result.returncode == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["n_recorded"] == 12 and data["warnings"] == []
    # the same answers given one by one to the session, as the Check pairs keys do
    hand = tmp_path / "c"
    monkeypatch.setenv("XDG_DATA_HOME", str(hand))
    session = ReviewSession.open(read_table(demo))
    same = demo_truth()
    for p in pairs:
        session.answer(p["row1"] - 1, p["row2"] - 1, "duplicate" if same(p["row1"] - 1, p["row2"] - 1) else "not")
    assert journal_lines(tmp_path / "a") == journal_lines(tmp_path / "b") == journal_lines(hand)
    # recorded once: the same file again changes nothing; the queue no longer offers those pairs
    again = quoradup("review", str(demo), "--answers", str(tmp_path / "answers-text.csv"), "--json",
                     env=env_for(tmp_path / "a"))
    assert json.loads(again.stdout)["n_already_recorded"] == 12
    offered = {(p["row1"], p["row2"]) for p in queue(demo, env_for(tmp_path / "a"), 40)}
    assert not offered & {(p["row1"], p["row2"]) for p in pairs}


def test_unusable_answer_rows_are_named(demo, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("row1,row2,is_duplicate\n1,70,1\n1,9999,0\n3,3,1\n4,5,perhaps\n6,7,unsure\n8,9,\n",
                       encoding="utf-8")
    result = quoradup("review", str(demo), "--answers", str(answers), "--json", env=env_for(tmp_path / "d"))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["n_duplicate"], data["n_unsure"], data["n_recorded"]) == (1, 1, 2)
    joined = "\n".join(data["warnings"])
    assert "row 2:" in joined and "outside 1 to 319" in joined
    assert "row 3:" in joined and "same question" in joined
    assert "row 4:" in joined and "'perhaps'" in joined
    assert "warning: Answer row 2" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    result = quoradup("review", str(demo), "--answers", str(bad), env=env_for(tmp_path / "d"))
    assert result.returncode == 2 and "text1, text2, is_duplicate" in result.stderr and "Traceback" not in result.stderr


def test_train_from_review_needs_answers_then_writes_a_new_model(demo, tmp_path):
    env = env_for(tmp_path / "d")
    result = quoradup("train", "--from-review", str(demo), "--json", env=env)
    assert result.returncode == 2 and "Answer 20 more pairs" in result.stderr and "Check pairs" in result.stderr
    pairs = queue(demo, env, 40)
    quoradup("review", str(demo), "--answers", str(write_answers(tmp_path / "a.csv", pairs)), env=env)
    result = quoradup("train", "--from-review", str(demo), "--output", str(tmp_path / "improved"), "--epochs", "1",
                      "--json", env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["output"] == str(tmp_path / "improved") and data["base"] and data["trained"]
    assert data["n_train_pairs"] + data["n_eval_pairs"] <= 40 and data["n_eval_pairs"] >= 4
    again = quoradup("train", "--from-review", str(demo), "--model", str(tmp_path / "improved"), "--output",
                     str(tmp_path / "improved"), env=env)
    assert again.returncode == 2 and "the model being improved" in again.stderr
