"""Training: data from every pair layout, the split by question, each loss in a tiny real run,
cancel, the NaN guard, resume, the config file and the output-folder rules.

Runs use the bundled model, batches of 4 and a few steps; torch uses one thread here, which is
much faster than two on a busy 2-core machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quoradup_gui.core.encode.models import resolve_model
from quoradup_gui.core.errors import ColumnError, QuoradupError
from quoradup_gui.core.ingest.io import read_table
from quoradup_gui.core.jobs import RecordingContext
from quoradup_gui.core.text import question_key
from quoradup_gui.core.training.data import (
    PAIR,
    PAIR_CLASS,
    TRIPLET,
    PairData,
    load_pairs,
    ranking_rows,
    split_by_question,
)
from quoradup_gui.core.training.losses import LOSS_NAMES, LOSSES, default_loss, resolve_loss
from quoradup_gui.core.training.run import RECORD_FILE, TrainingConfig, default_output_dir, run_training

TOPICS = ["Python", "guitar", "French", "chess", "swimming", "calculus", "photography", "cooking", "Spanish",
          "drawing", "piano", "typing", "knitting", "yoga", "statistics", "welding", "poetry", "sailing"]


def labelled_pairs(n_topics: int = 12) -> pd.DataFrame:
    """Per topic: a duplicate pair, a non-duplicate pair, and a link between them (one question group)."""
    rows = []
    for topic in TOPICS[:n_topics]:
        a, b = f"How do I learn {topic}?", f"What is the best way to learn {topic}?"
        c, d = f"Is {topic} hard to learn?", f"Why do people give up {topic}?"
        rows += [(a, b, 1), (c, d, 0), (a, c, 0)]
    return pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def pair_file(tmp_path) -> Path:
    path = tmp_path / "pairs.csv"
    labelled_pairs().to_csv(path, index=False)
    return path


def tiny_config(tmp_path: Path, **changes) -> TrainingConfig:
    values = dict(batch_size=4, logging_steps=1, eval_steps=1000, output_dir=str(tmp_path / "model"), seed=1)
    values.update(changes)
    return TrainingConfig(**values)


# ----------------------------------------------------------------------------- data


def test_every_pair_layout_loads(tmp_path):
    files = {
        "kaggle.csv": ("id,qid1,qid2,question1,question2,is_duplicate\n0,1,2,How old is Rome?,What is Rome's age?,1\n"
                       "1,3,4,Why is the sky blue?,Why is grass green?,0\n"),
        "question.csv": "question1,question2,is_duplicate\nHow old is Rome?,What is Rome's age?,yes\nA?,B?,no\n",
        "sentence.csv": "sentence1,sentence2,label\nHow old is Rome?,What is Rome's age?,1\nA?,B?,0\n",
        "triplet.csv": "anchor,positive,negative\nHow old is Rome?,What is Rome's age?,Why is grass green?\n",
        "anchor.csv": "anchor,positive\nHow old is Rome?,What is Rome's age?\nA?,B?\n",
    }
    kinds = {}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        data = load_pairs(read_table(tmp_path / name))
        kinds[name] = data.kind
        assert data.text1[0] == "How old is Rome?" and data.text2[0] == "What is Rome's age?"
    assert kinds == {"kaggle.csv": PAIR_CLASS, "question.csv": PAIR_CLASS, "sentence.csv": PAIR_CLASS,
                     "triplet.csv": TRIPLET, "anchor.csv": PAIR}
    kaggle = load_pairs(tmp_path / "kaggle.csv")  # a path works as well as a loaded table
    assert kaggle.labels == (1, 0) and kaggle.ids1 == ("1", "3")


def test_review_decisions_export_trains_like_question_pairs(tmp_path):
    # What the review export writes: question1, question2, is_duplicate from must/cannot links.
    from quoradup_gui.core.mine.clustering import Constraints
    from quoradup_gui.core.review.decisions import ResolvedDecisions

    texts = ["How do I learn Python?", "What is the best way to learn Python?", "Is chess hard?"]
    decisions = ResolvedDecisions(Constraints(must_link=((0, 1),), cannot_link=((0, 2),)), {}, frozenset())
    path = tmp_path / "labelled.csv"
    pd.DataFrame(decisions.labelled_pairs(texts), columns=["question1", "question2", "is_duplicate"]).to_csv(
        path, index=False)
    data = load_pairs(path)
    assert data.kind == PAIR_CLASS and data.labels == (1, 0) and data.n_positive == 1


def test_blank_and_unlabelled_rows_are_skipped_and_scores_refused(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("question1,question2,is_duplicate\nA?,B?,1\n,C?,0\nD?,E?,\nF?,G?,0\n", encoding="utf-8")
    data = load_pairs(path)
    assert data.text1 == ("A?", "F?") and data.labels == (1, 0)
    assert any("blank" in w for w in data.warnings) and any("without a label" in w for w in data.warnings)
    assert load_pairs(path, max_pairs=1).text1 == ("A?",)
    scores = tmp_path / "scores.csv"
    scores.write_text("sentence1,sentence2,score\nA?,B?,0.7\nC?,D?,0.2\n", encoding="utf-8")
    with pytest.raises(ColumnError, match="similarity scores"):
        load_pairs(scores)
    collection = tmp_path / "collection.csv"
    collection.write_text("question\nHow old is Rome?\nWhy is the sky blue?\n", encoding="utf-8")
    with pytest.raises(ColumnError, match="not a pair file"):
        load_pairs(collection)


def test_offline_hub_dataset_gives_a_clear_error():
    with pytest.raises(QuoradupError) as err:
        load_pairs("sentence-transformers/quora-duplicates")
    message = str(err.value)
    assert "Hub is unreachable" in message and "local pair file" in message


@pytest.mark.parametrize("spec, subset, columns, kind", [
    ("sentence-transformers/quora-duplicates", "pair-class",
     {"sentence1": ["A?", "C?"], "sentence2": ["B?", "D?"], "label": [1, 0]}, PAIR_CLASS),
    ("sentence-transformers/quora-duplicates:pair", "pair", {"anchor": ["A?"], "positive": ["B?"]}, PAIR),
    ("sentence-transformers/quora-duplicates:triplet", "triplet",
     {"anchor": ["A?"], "positive": ["B?"], "negative": ["C?"]}, TRIPLET),
])
def test_hub_subsets_map_to_training_data(monkeypatch, spec, subset, columns, kind):
    import datasets

    calls = []

    def fake_load_dataset(path, name=None, split=None):
        calls.append((path, name, split))
        return datasets.Dataset.from_dict(columns)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    data = load_pairs(spec)
    assert calls == [("sentence-transformers/quora-duplicates", subset, "train")]
    assert data.kind == kind and data.text1[0] == "A?" and data.source == spec


def random_pairs(n_pairs: int, n_questions: int, seed: int) -> PairData:
    rng = np.random.default_rng(seed)
    questions = [f"Question number {i}?" for i in range(n_questions)]
    a, b = rng.integers(0, n_questions, n_pairs), rng.integers(0, n_questions, n_pairs)
    # Case and spacing variants of a question are still that question.
    text2 = [questions[j].upper() if k % 3 == 0 else "  " + questions[j] for k, j in enumerate(b)]
    return PairData(tuple(questions[i] for i in a), tuple(text2), tuple(int(x) for x in rng.integers(0, 2, n_pairs)),
                    None, PAIR_CLASS, "random")


@pytest.mark.parametrize("n_pairs, n_questions", [(400, 2000), (600, 900), (50, 40)])
def test_split_by_question_shares_no_question(n_pairs, n_questions):
    data = random_pairs(n_pairs, n_questions, seed=n_pairs)
    split = split_by_question(data, eval_fraction=0.1, seed=7)
    train_keys = {question_key(t) for t in split.train.text1 + split.train.text2}
    if n_questions < n_pairs:  # one giant group: nothing can be held out cleanly, and the run says so
        assert split.eval is None and len(split.train) == n_pairs and "no pairs could be held out" in split.warnings[0]
        return
    assert split.eval is not None
    eval_keys = {question_key(t) for t in split.eval.text1 + split.eval.text2}
    assert train_keys.isdisjoint(eval_keys)
    if n_questions > 2 * n_pairs:  # mostly small groups: the share is met closely
        assert abs(len(split.train) - 0.9 * n_pairs) <= 0.02 * n_pairs
    share = np.mean(data.labels)
    assert abs(np.mean(split.eval.labels) - share) < 0.1  # stratified: about the data's share of duplicates
    again = split_by_question(data, eval_fraction=0.1, seed=7)
    assert again.train.text1 == split.train.text1  # deterministic for a seed
    assert split_by_question(data, eval_fraction=0.1, seed=8).train.text1 != split.train.text1


def test_small_held_out_split_still_has_duplicates_and_non_duplicates():
    labels = tuple([1] * 6 + [0] * 54)
    data = PairData(tuple(f"Q{i}?" for i in range(60)), tuple(f"R{i}?" for i in range(60)), labels, None,
                    PAIR_CLASS, "x")
    for seed in range(20):
        held = split_by_question(data, eval_fraction=0.05, seed=seed).eval
        assert set(held.labels) == {0, 1} and len(held) == 3


def test_split_links_questions_by_id_and_caps_the_scored_pairs():
    # Different texts with the same question id are one question: their pairs stay together.
    data = PairData(("A?", "A again?", "C?", "D?"), ("B?", "E?", "F?", "G?"), (1, 0, 1, 0), None, PAIR_CLASS, "x",
                    ids1=("1", "1", "3", "4"), ids2=("2", "5", "6", "7"))
    for seed in range(10):
        split = split_by_question(data, eval_fraction=0.5, seed=seed)
        assert ("A?" in split.train.text1) == ("A again?" in split.train.text1)
    big = random_pairs(2000, 20000, seed=3)
    assert len(split_by_question(big, 0.2, seed=1, max_eval_pairs=50).eval) == 50


def test_held_out_duplicates_only_get_random_non_duplicates():
    data = PairData(tuple(f"Q{i}?" for i in range(40)), tuple(f"R{i}?" for i in range(40)), None, None, PAIR, "x")
    split = split_by_question(data, eval_fraction=0.25, seed=0)
    assert 0 in split.eval.labels and 1 in split.eval.labels
    assert any("random pairs" in w for w in split.warnings)


def test_ranking_rows_add_the_swapped_pairs_of_duplicates_only():
    data = PairData(("A?", "C?"), ("B?", "D?"), (1, 0), None, PAIR_CLASS, "x")
    assert ranking_rows(data) == {"anchor": ["A?", "B?"], "positive": ["B?", "A?"]}
    triplets = PairData(("A?",), ("B?",), None, ("N?",), TRIPLET, "x")
    assert ranking_rows(triplets) == {"anchor": ["A?", "B?"], "positive": ["B?", "A?"], "negative": ["N?", "N?"]}


def test_default_loss_follows_the_data_and_every_loss_explains_itself():
    assert default_loss(PAIR_CLASS) == "multi-task" and default_loss(PAIR) == "mnrl" and default_loss(TRIPLET) == "mnrl"
    assert resolve_loss("auto", PAIR) == "mnrl"
    with pytest.raises(QuoradupError, match="only duplicate pairs"):
        resolve_loss("online-contrastive", PAIR)
    assert set(LOSS_NAMES) == {"online-contrastive", "contrastive", "cosent", "mnrl", "cached-mnrl", "multi-task"}
    for info in LOSSES.values():
        assert info.explanation.endswith(".") and "\n" not in info.explanation and len(info.explanation) < 200


# ----------------------------------------------------------------------------- config


def test_config_json_round_trip(tmp_path):
    config = TrainingConfig(model="default", loss="mnrl", epochs=2.0, batch_size=16, learning_rate=3e-5,
                            max_pairs=500, output_dir=str(tmp_path / "m"), device="cpu", resume=True)
    path = tmp_path / "train.json"
    config.save(path)
    assert TrainingConfig.load(path) == config
    assert TrainingConfig.from_json(config.to_json()) == config
    # A run's record works as a config too (reproduce a run).
    assert TrainingConfig.from_dict({"config": config.to_dict(), "trained": {}}) == config
    with pytest.raises(QuoradupError, match="Unknown training setting: batchsize"):
        TrainingConfig.from_dict({"batchsize": 3})
    with pytest.raises(QuoradupError, match="not valid JSON"):
        TrainingConfig.from_json("{")


@pytest.mark.parametrize("change, message", [
    ({"epochs": 0}, "Epochs"), ({"batch_size": 0}, "batch size"), ({"learning_rate": 5.0}, "learning rate"),
    ({"loss": "triplet"}, "Unknown loss"), ({"eval_fraction": 0.9}, "held-out share"),
    ({"precision": "fp8"}, "precision"), ({"max_pairs": 1}, "maximum number of pairs"),
])
def test_config_validation_messages(change, message):
    with pytest.raises(QuoradupError, match=message):
        TrainingConfig(**change).validate()


def test_default_output_dir_is_in_the_app_data_folder():
    from quoradup_gui.core.resources import app_data_dir

    path = default_output_dir(resolve_model("default"), "multi-task")
    assert path.parent == app_data_dir() / "models" and path.name.startswith("all-MiniLM-L6-v2-multi-task-")


def test_unrelated_output_folder_is_refused_before_training(tmp_path, pair_file):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "thesis.docx").write_text("precious", encoding="utf-8")
    with pytest.raises(QuoradupError, match="already holds other files"):
        run_training(tiny_config(tmp_path, output_dir=str(folder)), pair_file)
    assert (folder / "thesis.docx").read_text(encoding="utf-8") == "precious"


def test_a_cancelled_run_never_replaces_a_finished_model(tmp_path):
    from quoradup_gui.core.training.run import destination, place

    def model_folder(path: Path, cancelled: bool | None) -> Path:
        path.mkdir()
        (path / "modules.json").write_text("[]", encoding="utf-8")
        if cancelled is not None:
            (path / RECORD_FILE).write_text(json.dumps({"cancelled": cancelled}), encoding="utf-8")
        return path

    finished = model_folder(tmp_path / "finished", cancelled=False)
    assert destination(finished, cancelled=True) == tmp_path / "finished-cancelled"
    assert destination(finished, cancelled=False) == finished
    earlier_cancel = model_folder(tmp_path / "earlier", cancelled=True)
    assert destination(earlier_cancel, cancelled=True) == earlier_cancel
    assert destination(tmp_path / "new", cancelled=True) == tmp_path / "new"
    work = model_folder(tmp_path / ".finished.partial", cancelled=None)
    (work / "new.txt").write_text("new", encoding="utf-8")
    assert place(work, finished) == finished
    assert (finished / "new.txt").is_file() and not work.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["earlier", "finished"]  # the old one removed


def test_cancel_before_the_first_step_saves_nothing(tmp_path, pair_file):
    from quoradup_gui.core.errors import JobCancelled

    class CancelDuringBaseScore(RecordingContext):
        def set_status(self, text):
            super().set_status(text)
            if text.startswith("Scoring the base model"):
                self.cancel()

    with pytest.raises(JobCancelled):
        run_training(tiny_config(tmp_path), pair_file, CancelDuringBaseScore())
    assert list(tmp_path.iterdir()) == [pair_file]


def test_training_modules_import_without_torch():
    code = ("import sys, quoradup_gui.core.training.run, quoradup_gui.core.training.losses, "
            "quoradup_gui.core.training.callbacks, quoradup_gui.core.training.data\n"
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- real runs


def load_trained(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_loss_trains_a_loadable_model(tmp_path, pair_file, loss):
    ctx = RecordingContext()
    config = tiny_config(tmp_path, loss=loss, epochs=0.3, mini_batch_size=2)
    result = run_training(config, read_table(pair_file), ctx)
    assert not result.cancelled and result.loss == loss and result.steps >= 2
    assert result.output == tmp_path / "model" and result.n_eval_pairs > 0 and result.n_train_pairs < 36
    assert result.base is not None and result.trained is not None and 0 <= result.trained.ap <= 1
    assert result.samples_per_s > 0 and result.seconds > 0
    kinds = {p["kind"] for p in ctx.partials}
    assert kinds == {"loss", "eval", "progress"}
    evals = [p for p in ctx.partials if p["kind"] == "eval"]
    assert evals[0]["step"] == 0 and evals[0]["base"] and evals[-1]["step"] == result.steps
    losses = [p for p in ctx.partials if p["kind"] == "loss"]
    assert [p["step"] for p in losses] == list(range(1, result.steps + 1))
    assert all(np.isfinite(p["loss"]) for p in losses)
    if loss == "multi-task":  # each task's own loss: one step is one task's batch (logging every step)
        assert {name for p in losses for name in p["tasks"]} == {"mnrl", "online-contrastive"}
        assert all(len(p["tasks"]) == 1 and list(p["tasks"].values())[0] == pytest.approx(p["loss"], abs=1e-3)
                   for p in losses)
    else:
        assert not any("tasks" in p for p in losses)
    assert ctx.progress[-1] == (result.steps, result.steps)
    # A SentenceTransformer folder with a model card, the record, and the trainer checkpoint under it.
    folder = result.output
    assert (folder / "modules.json").is_file() and (folder / "README.md").is_file()
    assert list(folder.glob("checkpoint-*")) and not list(tmp_path.glob(".model.*"))
    record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["config"]["loss"] == loss and record["config"]["batch_size"] == 4 and not record["cancelled"]
    assert record["trained"]["ap"] == pytest.approx(result.trained.ap)
    embeddings = load_trained(folder).encode(["How do I learn Python?", "How can I learn Python?"])
    assert embeddings.shape == (2, 384) and np.isfinite(embeddings).all()


def test_triplets_and_duplicate_pairs_train_with_mnrl(tmp_path):
    path = tmp_path / "triplets.csv"
    pd.DataFrame({"anchor": [f"How do I learn {t}?" for t in TOPICS],
                  "positive": [f"What is the best way to learn {t}?" for t in TOPICS],
                  "negative": [f"Why do people give up {t}?" for t in TOPICS]}).to_csv(path, index=False)
    result = run_training(tiny_config(tmp_path, epochs=0.2), path, RecordingContext())
    assert result.loss == "mnrl" and result.trained is not None and (result.output / "modules.json").is_file()


class StopWatch:
    """A trainer callback recording when each step ended and when training ended."""

    def __init__(self):
        from transformers import TrainerCallback

        watch = self
        self.step_ends: list[float] = []
        self.train_end: float | None = None

        class Callback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                watch.step_ends.append(time.monotonic())

            def on_train_end(self, args, state, control, **kwargs):
                watch.train_end = time.monotonic()

        self.callback = Callback()


class CancelFromAnotherThread(RecordingContext):
    """Cancels from a timer thread, as the GUI's Cancel button does, once step ``at_step`` is reported."""

    def __init__(self, at_step: int):
        super().__init__()
        self.at_step = at_step
        self.cancelled_at: float | None = None

    def set_progress(self, done, total=None):
        super().set_progress(done, total)
        if done == self.at_step and self.cancelled_at is None:
            def press():
                self.cancelled_at = time.monotonic()
                self.cancel()

            threading.Timer(0.05, press).start()


def test_cancel_stops_within_a_second_and_resume_continues(tmp_path, pair_file):
    watch = StopWatch()
    ctx = CancelFromAnotherThread(at_step=2)
    config = tiny_config(tmp_path, loss="online-contrastive", epochs=1.0, batch_size=2)
    result = run_training(config, pair_file, ctx, callbacks=[watch.callback])
    assert result.cancelled and 2 <= result.steps < 16
    # Training stops at the end of the step running when Cancel was pressed (then it saves).
    step_seconds = np.diff(watch.step_ends).max()
    latency = watch.step_ends[-1] - ctx.cancelled_at
    assert latency < max(1.0, 1.5 * step_seconds), (latency, step_seconds)
    # A usable model marked cancelled, with a checkpoint of the step it stopped at.
    record = json.loads((result.output / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["cancelled"] and record["steps"] == result.steps
    assert (result.output / f"checkpoint-{result.steps}").is_dir()
    assert load_trained(result.output).encode(["How old is Rome?"]).shape == (1, 384)

    resumed_ctx = RecordingContext()
    resumed = run_training(TrainingConfig(**{**config.to_dict(), "resume": True}), pair_file, resumed_ctx)
    assert not resumed.cancelled and resumed.output == result.output
    first_new_step = min(p["step"] for p in resumed_ctx.partials if p["kind"] == "loss")
    assert first_new_step == result.steps + 1  # continued, not restarted
    assert resumed.steps > result.steps and resumed.base is not None  # the base score comes from the checkpoint
    assert [p["step"] for p in resumed.history if p["kind"] == "loss"] == list(range(1, resumed.steps + 1))
    record = json.loads((resumed.output / RECORD_FILE).read_text(encoding="utf-8"))
    assert not record["cancelled"] and record["steps"] == resumed.steps


def test_resume_without_a_checkpoint_says_so(tmp_path, pair_file):
    with pytest.raises(QuoradupError, match="no checkpoint to resume"):
        run_training(tiny_config(tmp_path, resume=True), pair_file)


def test_nan_loss_stops_with_a_message_and_keeps_the_old_model(tmp_path, pair_file):
    from transformers import TrainerCallback

    class PoisonWeights(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            if state.global_step == 1:
                import torch

                with torch.no_grad():
                    next(model.parameters()).fill_(float("nan"))

    target = tmp_path / "model"
    target.mkdir()
    (target / "modules.json").write_text("[]", encoding="utf-8")  # a model from an earlier run
    (target / RECORD_FILE).write_text('{"cancelled": false}', encoding="utf-8")
    with pytest.raises(QuoradupError, match="step 2: the loss became NaN") as err:
        run_training(tiny_config(tmp_path, loss="contrastive", epochs=1.0), pair_file, RecordingContext(),
                     callbacks=[PoisonWeights()])
    assert "learning rate" in str(err.value)
    # Online contrastive picks its hard pairs by comparing distances, so NaN ones drop out and its loss
    # stays finite: the gradient norm (or the held-out scores) catch the broken model.
    with pytest.raises(QuoradupError, match="step 2: the (gradients|model's similarity scores) became NaN"):
        run_training(tiny_config(tmp_path, loss="online-contrastive", epochs=1.0, eval_steps=2), pair_file,
                     RecordingContext(), callbacks=[PoisonWeights()])
    assert (target / "modules.json").read_text(encoding="utf-8") == "[]"  # untouched
    assert not list(tmp_path.glob(".model.*"))  # no work folder left behind


# ----------------------------------------------------------------------------- bf16 on the CPU

def test_cpu_bf16_units_are_read_from_the_cpu_flags():
    from quoradup_gui.core.training.hardware import cpu_bf16_units

    assert cpu_bf16_units("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert cpu_bf16_units("flags : fpu amx_tile amx_bf16")
    assert not cpu_bf16_units("flags : fpu sse2 avx2 avx512f avx512bw")  # bf16 would be emulated: slower
    assert not cpu_bf16_units("")


@pytest.mark.parametrize("units", [True, False])
def test_auto_precision_on_the_cpu_is_bf16_only_with_bf16_units(monkeypatch, units):
    from quoradup_gui.core.training import run as run_module

    monkeypatch.setattr(run_module, "cpu_bf16_units", lambda: units)
    assert run_module._device_and_precision(TrainingConfig(device="cpu")) == ("cpu", "bf16" if units else "fp32")
    assert run_module._device_and_precision(TrainingConfig(device="cpu", precision="fp32")) == ("cpu", "fp32")


def test_bf16_follows_the_fp32_loss_curve(tmp_path, pair_file):
    from quoradup_gui.core.training.hardware import cpu_bf16_units

    if not cpu_bf16_units():
        pytest.skip("this CPU has no bf16 units (auto keeps fp32 here)")
    curves = {}
    for precision in ("fp32", "auto"):
        ctx = RecordingContext()
        result = run_training(tiny_config(tmp_path / precision, loss="online-contrastive", epochs=1.0,
                                          precision=precision), pair_file, ctx)
        assert result.precision == ("fp32" if precision == "fp32" else "bf16")
        curves[result.precision] = np.array([p["loss"] for p in ctx.partials if p["kind"] == "loss"])
    assert len(curves["bf16"]) == len(curves["fp32"]) >= 5
    np.testing.assert_allclose(curves["bf16"], curves["fp32"], rtol=0.1, atol=0.01)


# ----------------------------------------------------------------------------- length-grouped batches

@pytest.mark.parametrize("drop_last", [False, True])
def test_length_grouped_batches_cover_every_row_once_and_cut_the_padding(drop_last):
    from quoradup_gui.core.training.sampling import length_grouped_batches

    lengths = np.random.default_rng(0).integers(20, 300, 1000)
    batches = length_grouped_batches(lengths, 32, drop_last, seed=3)
    rows = [i for b in batches for i in b]
    assert len(rows) == len(set(rows)) and set(rows) <= set(range(1000))
    assert len(rows) == (1000 if not drop_last else sum(len(b) for b in batches if len(b) == 32))
    assert all(len(b) == 32 for b in batches) or not drop_last
    padded = sum(len(b) * lengths[b].max() for b in batches)
    shuffled = np.random.default_rng(1).permutation(1000)
    random_padded = sum(32 * lengths[shuffled[i:i + 32]].max() for i in range(0, 1000, 32))
    assert padded < 0.7 * random_padded  # the point of it
    assert length_grouped_batches(lengths, 32, drop_last, seed=3) == batches  # an epoch is reproducible
    assert length_grouped_batches(lengths, 32, drop_last, seed=4) != batches  # and the next one differs


SAMPLER_LENGTHS: list[int] = []


def spy_sampler(*args, **kwargs):
    """length_grouped_batch_sampler, noting its length (module level: the trainer pickles its args)."""
    from quoradup_gui.core.training.sampling import length_grouped_batch_sampler

    sampler = length_grouped_batch_sampler(*args, **kwargs)
    SAMPLER_LENGTHS.append(len(sampler))
    return sampler


def test_the_trainer_uses_the_length_grouped_sampler_for_pair_losses(tmp_path, pair_file, monkeypatch):
    import quoradup_gui.core.training.run as run_module

    SAMPLER_LENGTHS.clear()
    monkeypatch.setattr(run_module, "length_grouped_batch_sampler", spy_sampler)
    result = run_training(tiny_config(tmp_path, loss="cosent", epochs=1.0), pair_file, RecordingContext())
    assert SAMPLER_LENGTHS and result.steps == SAMPLER_LENGTHS[0]  # one epoch: the sampler's batches
    SAMPLER_LENGTHS.clear()
    run_training(tiny_config(tmp_path / "mnrl", loss="mnrl", epochs=1.0), pair_file, RecordingContext())
    assert not SAMPLER_LENGTHS  # in-batch negatives keep the no-duplicates sampler


@pytest.mark.parametrize("n", [1, 31, 32, 1000, 32 * 32, 32 * 32 + 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_the_sampler_length_is_its_number_of_batches(n, drop_last):
    from datasets import Dataset

    from quoradup_gui.core.training.sampling import length_grouped_batch_sampler, length_grouped_batches

    dataset = Dataset.from_dict({"sentence1": ["x" * (i % 50 + 1) for i in range(n)], "label": [0] * n})
    sampler = length_grouped_batch_sampler(dataset, 32, drop_last, seed=0)
    assert len(sampler) == len(list(sampler)) == len(length_grouped_batches(sampler.lengths, 32, drop_last, 0))
