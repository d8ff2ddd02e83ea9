"""`quoradup evaluate` reads the file's one QuestionSet: each distinct question is encoded once, and
every pair row maps to its two questions (blank ones left out of the score)."""

from __future__ import annotations

import numpy as np
import pytest

from quoradup_gui.core.encode.embedding import EncodeOptions
from quoradup_gui.core.evaluate.pair_scoring import evaluate_pair_table, score_pairs
from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.ingest.questions import QuestionSet

ROWS = [
    ("How do I reset my password?", "How can I change my password?", "1"),
    ("How do I reset my password?", "Where is the nearest train station?", "0"),
    ("What is the capital of France?", "Which city is France's capital?", "1"),
    ("What is the capital of France?", "   ", "0"),  # a blank question: no score
    ("How tall is Mount Everest?", "What is the height of Everest?", ""),  # unlabelled
    ("Which city is France's capital?", "How do I bake bread?", "0"),
]


@pytest.fixture
def pair_file(tmp_path):
    path = tmp_path / "pairs.csv"
    lines = ["question1,question2,is_duplicate"] + [f'"{a}","{b}",{c}' for a, b, c in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pair_rows_point_at_distinct_questions(pair_file):
    questions = QuestionSet.from_table(read_table(pair_file))
    assert len(set(questions.texts)) == len(questions.texts) == 8  # each distinct, non-blank question once
    text1, text2 = questions.pair_texts()
    assert text1 == [a for a, _, _ in ROWS]
    assert text2 == [b if b.strip() else "" for _, b, _ in ROWS]
    labels = questions.pairs.labels
    assert labels[:4].tolist() == [1, 0, 1, 0] and np.isnan(labels[4]) and labels[5] == 0
    r1, r2, lab = questions.pair_index  # labelled pairs with both questions
    assert len(r1) == 4 and lab.tolist() == [1, 0, 1, 0]


def test_scores_come_from_the_question_set_and_equal_direct_cosines(pair_file, bundled_model, tmp_path):
    options = EncodeOptions(backend="torch", cache_dir=tmp_path / "cache")
    table = read_table(pair_file)
    questions = QuestionSet.from_table(table)
    scored = score_pairs(questions, options)
    vectors = bundled_model.encode([a for a, _, _ in ROWS] + [b or "x" for _, b, _ in ROWS], normalize_embeddings=True)
    n = len(ROWS)
    expected = np.einsum("ij,ij->i", vectors[:n], vectors[n:])
    assert np.isnan(scored.scores[3]) and np.isnan(scored.labels[3])  # the blank question
    keep = [0, 1, 2, 4, 5]
    np.testing.assert_allclose(scored.scores[keep], expected[keep], atol=2e-3)
    assert scored.scores[0] > scored.scores[1]
    # The table and its QuestionSet give one answer.
    assert evaluate_pair_table(table, options=options).as_dict() == evaluate_pair_table(questions, options=options).as_dict()


def test_a_collection_is_refused_with_a_clear_message(tmp_path):
    from quoradup_gui.core.errors import ColumnError

    path = tmp_path / "faq.csv"
    path.write_text("question\nWhat is X?\nWhat is Y?\n", encoding="utf-8")
    with pytest.raises(ColumnError, match="not a labelled pair file|question collection"):
        evaluate_pair_table(QuestionSet.from_table(read_table(path)))
