"""Issue 12.7: before a trained model is used, the app says when it scored worse than its base,
when it was stopped before being scored, and when the held-out set is too small to tell."""

from __future__ import annotations

from pathlib import Path

from quoradup_gui.core.evaluate.evaluation import PairMetrics
from quoradup_gui.core.training.config import TrainingResult, ap_interval


def metrics(ap: float, n_pairs: int = 2000, n_positive: int = 800) -> PairMetrics:
    return PairMetrics(ap, 0.7, 0.7, 0.7, 0.8, 0.7, 0.8, n_pairs, n_positive)


def result(base, trained, history, n_eval=2000, cancelled=False) -> TrainingResult:
    return TrainingResult(Path("/m"), base, trained, 10.0, 5.0, cancelled, tuple(history), "multi-task", 100, 9000,
                          n_eval, "cpu")


EVAL0 = {"kind": "eval", "step": 0, "ap": 0.7}
EVAL50 = {"kind": "eval", "step": 50, "ap": 0.8}


def test_a_good_model_on_a_big_held_out_set_has_nothing_to_say():
    assert result(metrics(0.7), metrics(0.8), [EVAL0, EVAL50]).use_warnings() == []


def test_worse_than_the_base_model():
    notes = result(metrics(0.8), metrics(0.75), [EVAL0, EVAL50]).use_warnings()
    assert notes == ["It scored worse than the base model on the held-out pairs: AP 0.750 against 0.800."]


def test_stopped_before_it_was_scored():
    notes = result(metrics(0.7), metrics(0.7), [EVAL0, {"kind": "loss", "step": 3}], cancelled=True).use_warnings()
    assert len(notes) == 1 and "stopped before it was scored" in notes[0]
    assert "stopped before it was scored" in result(None, None, [], cancelled=True).use_warnings()[0]


def test_a_small_held_out_set_gives_its_size_and_a_rough_interval():
    notes = result(metrics(0.7, 60, 20), metrics(0.8, 60, 20), [EVAL0, EVAL50], n_eval=60).use_warnings()
    low, high = ap_interval(0.8, 20)
    assert notes == [f"The held-out set has only 60 pairs (20 duplicates): its AP 0.800 could well be anywhere "
                     f"from {low:.2f} to {high:.2f}."]
    assert 0.6 < low < 0.65 and 0.95 < high <= 1.0
