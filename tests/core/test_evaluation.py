"""core.evaluation against sentence-transformers' reference evaluators, on data we control."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from quoradup_gui.core.errors import QuoradupError
from quoradup_gui.core.evaluate.evaluation import (
    MiningMetrics,
    PairMetrics,
    gold_pairs_from_labelled,
    mining_corpus_from_pairs,
    mining_metrics,
    pair_metrics,
    precision_recall_at,
    unordered_pair,
)

torch = pytest.importorskip("torch")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from sentence_transformers.evaluation import BinaryClassificationEvaluator, ParaphraseMiningEvaluator
from sentence_transformers.util import pairwise_cos_sim, paraphrase_mining_embeddings
from sklearn.metrics import average_precision_score


def _random_pairs(seed: int, n: int = 300, dtype=np.float32, decimals: int = 2):
    """Scores rounded to few decimals so that many ties occur."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.round(rng.normal(0.5 + 0.2 * labels, 0.2), decimals).astype(dtype)
    return scores, labels


def _reference_pair_metrics(scores, labels) -> dict:
    acc, acc_threshold = BinaryClassificationEvaluator.find_best_acc_and_threshold(scores, labels, True)
    f1, precision, recall, f1_threshold = BinaryClassificationEvaluator.find_best_f1_and_threshold(
        scores, labels, True
    )
    return {
        "ap": average_precision_score(labels, scores), "f1": f1, "precision": precision, "recall": recall,
        "threshold": f1_threshold, "accuracy": acc, "accuracy_threshold": acc_threshold,
    }


# --------------------------------------------------------------------------- pair metrics


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pair_metrics_equal_binary_classification_evaluator(seed, dtype):
    scores, labels = _random_pairs(seed, n=50 + 60 * seed, dtype=dtype, decimals=1 + seed % 3)
    ours = pair_metrics(scores, labels)
    reference = _reference_pair_metrics(scores, labels)
    for key, value in reference.items():
        assert getattr(ours, key) == float(value), key
    assert ours.n_pairs == len(labels) and ours.n_positive == int(labels.sum())


def test_pair_metrics_edge_cases_match_reference():
    cases = [
        ([0.9, 0.1], [1, 0]),  # perfectly separable
        ([0.1, 0.9], [1, 0]),  # perfectly wrong: best accuracy predicts nothing
        ([0.5, 0.5, 0.5], [1, 0, 0]),  # a single tie group
        ([0.3, 0.3, 0.2, 0.2, 0.9], [0, 1, 1, 0, 0]),
        # adjacent float32 values: their midpoint rounds onto one of them
        ([np.nextafter(np.float32(0.5), np.float32(1)), 0.5, 0.25], [1, 0, 0]),
        ([np.nextafter(np.float32(0.5), np.float32(0)), 0.5, 0.75], [0, 1, 1]),
    ]
    for scores, labels in cases:
        scores, labels = np.asarray(scores, dtype=np.float32), np.asarray(labels)
        ours = pair_metrics(scores, labels).as_dict()
        for key, value in _reference_pair_metrics(scores, labels).items():
            assert ours[key] == float(value), (scores, labels, key)


def test_pair_metrics_with_scores_from_the_evaluator_itself():
    """The whole evaluator, fed embeddings we choose, gives the numbers we compute."""
    rng = np.random.default_rng(3)
    sentences = [f"q{i}" for i in range(40)]
    embedding_of = {s: rng.normal(size=8).astype(np.float32) for s in sentences}
    s1 = [sentences[i] for i in rng.integers(0, 40, 120)]
    s2 = [sentences[i] for i in rng.integers(0, 40, 120)]
    labels = [int(i) for i in rng.integers(0, 2, 120)]

    class FakeModel:
        similarity_fn_name = "cosine"
        model_card_data = type("Card", (), {"set_evaluation_metrics": lambda *args, **kwargs: None})()

        def encode(self, texts, **kwargs):
            return np.stack([embedding_of[t] for t in texts])

    evaluator = BinaryClassificationEvaluator(s1, s2, labels, write_csv=False)
    reference = evaluator(FakeModel())
    scores = pairwise_cos_sim([embedding_of[s] for s in s1], [embedding_of[s] for s in s2]).numpy()
    ours = pair_metrics(scores, labels)
    assert ours.ap == reference["cosine_ap"]
    assert ours.f1 == reference["cosine_f1"]
    assert ours.threshold == reference["cosine_f1_threshold"]
    assert ours.precision == reference["cosine_precision"]
    assert ours.recall == reference["cosine_recall"]
    assert ours.accuracy == reference["cosine_accuracy"]
    assert ours.accuracy_threshold == reference["cosine_accuracy_threshold"]


def test_missing_labels_are_dropped():
    scores, labels = _random_pairs(11, n=100)
    with_gaps = labels.astype(float)
    with_gaps[::7] = np.nan
    kept = ~np.isnan(with_gaps)
    expected = pair_metrics(scores[kept], labels[kept])
    assert pair_metrics(scores, with_gaps) == expected
    assert expected.n_pairs == int(kept.sum())
    nullable = pd.Series(with_gaps).astype("Int64")  # pd.NA instead of NaN
    assert pair_metrics(scores, nullable) == expected
    assert pair_metrics(scores, [None if np.isnan(v) else int(v) for v in with_gaps]) == expected


def test_pair_metrics_errors_are_clear():
    with pytest.raises(QuoradupError, match="at least one pair labelled 1 and one labelled 0"):
        pair_metrics([0.2, 0.9, 0.4], [1, 1, 1])
    with pytest.raises(QuoradupError, match="at least one"):
        pair_metrics([0.2, 0.9], [0, np.nan])
    with pytest.raises(QuoradupError, match="at least one"):
        pair_metrics([], [])
    with pytest.raises(QuoradupError, match="must be 0 .* or 1"):
        pair_metrics([0.2, 0.9, 0.4], [0, 1, 2])
    with pytest.raises(QuoradupError, match="must be 0 .* or 1"):
        pair_metrics([0.2, 0.9], [0, "yes"])
    with pytest.raises(QuoradupError, match="3 scores for 2 labels"):
        pair_metrics([0.2, 0.9, 0.4], [0, 1])
    with pytest.raises(QuoradupError, match="not finite"):
        pair_metrics([0.2, np.nan, 0.4], [0, 1, 0])


def test_pair_metrics_as_dict_is_json_ready():
    scores, labels = _random_pairs(5)
    as_dict = pair_metrics(scores, labels).as_dict()
    for key in ("ap", "f1", "precision", "recall", "threshold", "accuracy", "n_pairs"):
        assert key in as_dict
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert isinstance(PairMetrics(**as_dict), PairMetrics)


def test_precision_recall_at():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    labels = np.array([1, 0, 1, 1, 0, 0])
    assert precision_recall_at(scores, labels, 0.75) == (0.5, 1 / 3)
    assert precision_recall_at(scores, labels, 0.6) == (0.75, 1.0)  # score == threshold counts
    assert precision_recall_at(scores, labels, 0.95) == (0.0, 0.0)  # nothing predicted
    assert precision_recall_at(scores, [1, 0, np.nan, 1, 0, 0], 0.6) == (2 / 3, 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_precision_recall_at_best_threshold_agrees_with_pair_metrics(seed):
    scores, labels = _random_pairs(seed, n=500)
    metrics = pair_metrics(scores, labels)
    assert precision_recall_at(scores, labels, metrics.threshold) == (metrics.precision, metrics.recall)


# --------------------------------------------------------------------------- gold pairs


def test_transitive_closure_of_a_chain():
    gold = gold_pairs_from_labelled(["a", "b"], ["b", "c"], [1, 1])
    assert gold == {("a", "b"), ("b", "c"), ("a", "c")}
    assert gold_pairs_from_labelled(["a", "b"], ["b", "c"], [1, 1], transitive=False) == {("a", "b"), ("b", "c")}


def test_gold_pairs_ignore_non_duplicates_unlabelled_and_self_pairs():
    gold = gold_pairs_from_labelled(
        [3, 2, 5, 7, 8, 9], [1, 1, 6, 7, 9, 10], [1, 1, 0, 1, np.nan, 1]
    )
    # 1-2, 1-3 -> 2-3 by closure; 5-6 is labelled 0; 7-7 is no pair; 8-9 has no label
    assert gold == {(1, 2), (1, 3), (2, 3), (9, 10)}


def test_gold_pairs_match_the_evaluators_transitive_closure():
    rng = np.random.default_rng(0)
    ids1, ids2 = rng.integers(0, 60, 80), rng.integers(0, 60, 80)
    labels = (rng.random(80) < 0.4).astype(int)
    sentences_map = {int(i): f"q{i}" for i in range(60)}
    duplicates = [(int(a), int(b)) for a, b, y in zip(ids1, ids2, labels) if y == 1 and a != b]
    evaluator = ParaphraseMiningEvaluator(sentences_map, duplicates, add_transitive_closure=True)
    reference = {
        unordered_pair(a, b) for a in evaluator.duplicates for b, is_dup in evaluator.duplicates[a].items() if is_dup
    }
    ours = gold_pairs_from_labelled(ids1, ids2, labels)
    assert ours == reference
    assert len(ours) == evaluator.total_num_duplicates


def test_unordered_pair_handles_mixed_id_types():
    assert unordered_pair("b", "a") == ("a", "b")
    assert unordered_pair(np.int64(5), 2) == (2, 5)
    assert unordered_pair("x", 1) == unordered_pair(1, "x")


# --------------------------------------------------------------------------- mining metrics


class _FakeEmbeddingModel:
    """What ParaphraseMiningEvaluator needs of a model: encode() and a model card."""

    model_card_data = type("Card", (), {"set_evaluation_metrics": lambda *args, **kwargs: None})()

    def __init__(self, embedding_of: dict):
        self.embedding_of = embedding_of

    def encode(self, sentences, convert_to_tensor=False, **kwargs):
        embeddings = np.stack([self.embedding_of[s] for s in sentences])
        return torch.from_numpy(embeddings) if convert_to_tensor else embeddings


def _mining_case(seed: int, n_questions: int = 60):
    """Integer embeddings in a few dimensions: many identical cosine scores, i.e. ties."""
    rng = np.random.default_rng(seed)
    ids = [f"id{i}" for i in rng.permutation(n_questions)]
    sentences_map = {qid: f"question {qid}" for qid in ids}
    vectors = {qid: rng.integers(-2, 3, 4).astype(np.float32) + 0.01 for qid in ids}
    duplicates = [tuple(rng.choice(ids, 2, replace=False)) for _ in range(n_questions // 3)]
    for a, b in duplicates:  # duplicates mostly look alike: b is a, nudged in one coordinate
        vectors[b] = vectors[a].copy()
        vectors[b][rng.integers(0, 4)] += rng.integers(-1, 2)
    embedding_of = {sentences_map[qid]: vector for qid, vector in vectors.items()}
    return sentences_map, embedding_of, duplicates


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("transitive", [False, True])
def test_mining_metrics_equal_paraphrase_mining_evaluator(seed, transitive):
    sentences_map, embedding_of, duplicates = _mining_case(seed)
    top_k, max_pairs = 3 + seed, 40 + 30 * seed  # small, so that some gold pairs are never mined
    evaluator = ParaphraseMiningEvaluator(
        sentences_map, duplicates, add_transitive_closure=transitive, top_k=top_k, max_pairs=max_pairs,
        write_csv=False,
    )
    reference = evaluator(_FakeEmbeddingModel(embedding_of))

    ids = list(sentences_map)
    embeddings = torch.from_numpy(np.stack([embedding_of[sentences_map[i]] for i in ids]))
    mined = paraphrase_mining_embeddings(embeddings, top_k=top_k, max_pairs=max_pairs)
    candidates = [(ids[i], ids[j], score) for score, i, j in mined]
    gold = gold_pairs_from_labelled(
        [a for a, _ in duplicates], [b for _, b in duplicates], [1] * len(duplicates), transitive=transitive
    )
    ours = mining_metrics(candidates, gold, n_questions=len(ids))

    assert ours.ap == reference["average_precision"]
    assert ours.f1 == reference["f1"]
    assert ours.precision == reference["precision"]
    assert ours.recall == reference["recall"]
    assert ours.threshold == reference["threshold"]
    assert ours.n_gold_pairs == evaluator.total_num_duplicates
    assert ours.n_candidate_pairs == len(mined)
    assert 0 < ours.recall < 1  # the case is not trivial


def test_mining_metrics_by_hand_with_duplicated_candidates():
    candidates = [
        ("a", "b", 0.9), ("b", "a", 0.9),  # the same pair twice, in both orders
        ("c", "d", 0.8), ("a", "c", 0.8),  # a tie group: one hit, one miss
        ("e", "f", 0.5),
        ("a", "a", 1.0),  # never a pair
    ]
    gold = {("b", "a"), ("a", "c"), ("e", "g")}
    metrics = mining_metrics(candidates, gold)
    # cuts: after 0.9 -> P=1, R=1/3; after 0.8 -> P=2/3, R=2/3 (best F1); 0.5 adds no hit
    assert metrics.precision == pytest.approx(2 / 3) and metrics.recall == pytest.approx(2 / 3)
    assert metrics.f1 == pytest.approx(2 / 3)
    assert metrics.threshold == pytest.approx((0.8 + 0.5) / 2)
    assert metrics.ap == pytest.approx((1.0 * 1 + 2 / 3 * 1) / 3)
    assert metrics.n_candidate_pairs == 4 and metrics.n_gold_pairs == 3
    assert metrics.n_questions == 7
    assert json.loads(json.dumps(metrics.as_dict())) == metrics.as_dict()


def test_mining_metrics_without_hits_and_without_gold():
    metrics = mining_metrics([("a", "b", 0.7)], {("c", "d")})
    assert metrics == MiningMetrics(0.0, 0.0, 0.0, 0.0, 0.0, 4, 1, 1)
    assert mining_metrics([], {("c", "d")}).n_candidate_pairs == 0
    with pytest.raises(QuoradupError, match="no known duplicate pairs"):
        mining_metrics([("a", "b", 0.7)], set())


# --------------------------------------------------------------------------- corpus from a pair file


def test_mining_corpus_with_question_ids():
    frame = pd.DataFrame({
        "qid1": [1, 3, 5, 1, 8],
        "qid2": [2, 4, 2, 6, 9],
        "question1": ["How to learn?", "Why sky blue?", "Best way to learn?", "How to learn?", "Is it?"],
        "question2": ["How do I learn?", "Why is the sky blue?", "How do I learn?", "Learning tips?", np.nan],
        "is_duplicate": [1, 0, 1, 0, 1],
    })
    texts, ids, gold = mining_corpus_from_pairs(
        frame["question1"], frame["question2"], frame["is_duplicate"], frame["qid1"], frame["qid2"]
    )
    assert ids == [1, 2, 3, 4, 5, 6, 8]  # 9 has no text
    assert all(type(i) is int for i in ids)
    assert texts[ids.index(5)] == "Best way to learn?"
    assert len(texts) == len(ids)
    assert gold == {(1, 2), (2, 5), (1, 5)}  # 1-2 and 5-2, closed; 8-9 lost its text


def test_mining_corpus_without_question_ids_uses_text_identity():
    texts, ids, gold = mining_corpus_from_pairs(
        ["a?", "c?", "b?", "x?"], ["b?", "d?", "e?", "x?"], [1, 0, 1, 1]
    )
    assert texts == ["a?", "b?", "c?", "d?", "e?", "x?"]
    assert ids == [0, 1, 2, 3, 4, 5]
    assert gold == {(0, 1), (1, 4), (0, 4)}  # a=b, b=e -> a=e; x=x is no pair


def test_mining_corpus_rejects_half_the_ids():
    with pytest.raises(QuoradupError, match="both columns"):
        mining_corpus_from_pairs(["a"], ["b"], [1], qid1=[1])
