"""Issue 10 at the command line: every loader warning reaches stderr and --json; bad input is exit 2
and a sentence, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from quoradup_gui.core.resources import demo_collection_path


def quoradup(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "quoradup_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def assert_sentence(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_mine_prints_every_load_warning_and_keeps_every_row(tmp_path):
    rows = ["id,question,topic"] + [f"{i},Question {i} about subject {i % 7}?,t{i}" + (",EXTRA" if i % 10 == 3 else "")
                                    for i in range(60)]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "clusters.csv"
    result = quoradup("mine", str(path), "--json", "--clusters-out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["n_questions"] == 60 and summary["clusters_out_rows"] == 60
    assert len(summary["warnings"]) == 1 and "lines 5, 15, 25, 35, 45…" in summary["warnings"][0]
    assert "quoradup: warning: 6 rows had more fields than the header" in result.stderr
    assert len(pd.read_csv(out, dtype=str)) == 60


def test_mine_single_column_csv_with_a_multi_line_cell_exports_three_rows(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'question\n"Line one,\nline two?"\nWhat is X?\nWhat is Y?\n')
    out = tmp_path / "d.csv"
    result = quoradup("mine", str(path), "--dedup-out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["dedup_out_rows"] == 3
    assert pd.read_csv(out, dtype=str)["question"].tolist() == ["Line one,\nline two?", "What is X?", "What is Y?"]


def test_mine_neutralises_formulas_and_raw_text_turns_it_off(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,question\n1,"=HYPERLINK(""http://x"",""y"") how?"\n2,Why is the sky blue?\n', encoding="utf-8")
    result = quoradup("mine", str(path), "--dedup-out", str(tmp_path / "d.csv"), "--json")
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(tmp_path / "d.csv", dtype=str)["question"][0].startswith("'=HYPERLINK")
    assert any("leading apostrophe" in w for w in json.loads(result.stdout)["warnings"])
    raw = quoradup("mine", str(path), "--dedup-out", str(tmp_path / "r.csv"), "--raw-text")
    assert raw.returncode == 0 and pd.read_csv(tmp_path / "r.csv", dtype=str)["question"][0].startswith("=HYPERLINK")


def test_mine_sheet_option(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Intro"
    wb.active.append(["notes"])
    wb.active.append(["nothing here"])
    faq = wb.create_sheet("FAQ")
    for row in (["question"], ["What is X?"], ["How do I Y?"], ["Why Z?"]):
        faq.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    result = quoradup("inspect", str(path), "--sheet", "FAQ", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["n_rows"] == 3 and 'sheet "FAQ"' in data["format"]["description"]
    assert_sentence(quoradup("inspect", str(path), "--sheet", "Nope"), 'has no sheet "Nope"', "'FAQ'")


@pytest.mark.parametrize("k", ["0", "5000"])
def test_mine_k_out_of_range(k):
    assert_sentence(quoradup("mine", str(demo_collection_path()), "--k", k), "between 1 and 1,000")


def test_one_file_for_both_outputs_is_refused(tmp_path):
    result = quoradup("mine", str(demo_collection_path()), "--clusters-out", str(tmp_path / "a.csv"),
                      "--dedup-out", str(tmp_path / "." / "a.csv"))
    assert_sentence(result, "name the same file")
    assert not (tmp_path / "a.csv").exists()


def test_inspect_into_a_closed_pipe(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "quoradup_gui.cli", "inspect", str(demo_collection_path())],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head` that has already quit
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == 2 and "Traceback" not in err and "Exception ignored" not in err, err
    assert "broken pipe" in err


def test_install_desktop_where_the_data_folder_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(blocker / "share")}
    assert_sentence(quoradup("install-desktop", env=env), "desktop entry cannot be written")


def test_install_desktop_on_a_read_only_data_folder(readonly_folder):
    env = {**os.environ, "XDG_DATA_HOME": str(readonly_folder)}
    assert_sentence(quoradup("install-desktop", env=env), "read-only")


def test_train_with_a_binary_config(tmp_path):
    config = tmp_path / "config.json"
    config.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    assert_sentence(quoradup("train", "--config", str(config)), "not a text file")


def test_train_warns_about_the_learning_rate_at_once(tmp_path):
    result = quoradup("train", "--pairs", str(tmp_path / "missing.csv"), "--lr", "0.9")
    assert_sentence(result, "learning rate 0.9 is far above the usual range", "missing.csv")
    assert result.stderr.index("learning rate") < result.stderr.index("missing.csv")  # before any work


def test_a_relative_model_folder_that_does_not_exist(tmp_path):
    (tmp_path / "models").mkdir()
    result = subprocess.run([sys.executable, "-m", "quoradup_gui.cli", "mine", str(demo_collection_path()),
                             "--model", "models/mine"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert_sentence(result, "Model folder not found", str(Path(tmp_path / "models" / "mine")))
    assert "Hugging Face" not in result.stderr


# ----------------------------------------------------------------------------- issue 11: the same journal


def test_mine_applies_the_decisions_the_app_saved(tmp_path, monkeypatch):
    from quoradup_gui.core.review.collection import session_path
    from quoradup_gui.core.review.decisions import DecisionLog, action_for

    texts = ["How do I reset my password?", "Where is my parcel?", "Why is the sky blue?", "Can I pay by card?"]
    path = tmp_path / "faq.csv"
    pd.DataFrame({"id": range(4), "question": texts}).to_csv(path, index=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the app's data folder, for both
    env = dict(os.environ)
    journal = str(session_path(path, "question"))
    DecisionLog.open(Path(journal)).do(action_for("merge", texts, [1, 2], "merge 2 clusters"))  # as the window does

    def mine(*extra):
        result = quoradup("mine", str(path), "--json", "--clusters-out", str(tmp_path / "c.csv"), *extra, env=env)
        assert result.returncode == 0, result.stderr
        clusters = pd.read_csv(tmp_path / "c.csv")
        return json.loads(result.stdout), clusters["cluster_id"].tolist()

    summary, labels = mine()
    assert summary["n_decisions_applied"] == 1 and summary["decisions"] == journal
    assert labels[1] == labels[2]  # the user's merge, not the model's opinion
    summary, labels = mine("--no-decisions")
    assert summary["n_decisions_applied"] == 0 and labels[1] != labels[2]
    other = tmp_path / "other.jsonl"
    DecisionLog.open(other).do(action_for("merge", texts, [0, 3], "merge"))
    summary, labels = mine("--decisions", str(other))
    assert summary["n_decisions_applied"] == 1 and labels[0] == labels[3] and labels[1] != labels[2]
    assert_sentence(quoradup("mine", str(path), "--decisions", str(tmp_path / "nope.jsonl")), "no decisions journal")


def small_pair_file(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.csv"
    rows = ["question1,question2,is_duplicate"] + [f"How do I learn topic {i}?,How can I learn topic {i}?,1" for i in range(6)] \
        + [f"What is topic {i}?,Why is topic {i + 1} hard?,0" for i in range(6)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_into_a_read_only_folder(readonly_folder, tmp_path):
    result = quoradup("train", "--pairs", str(small_pair_file(tmp_path)), "--output", str(readonly_folder / "model"),
                      "--epochs", "0.1")
    assert_sentence(result, "cannot be written", "read-only")


def test_train_onto_a_full_disk(tiny_disk, tmp_path):
    result = quoradup("train", "--pairs", str(small_pair_file(tmp_path)), "--output", str(tiny_disk / "model"),
                      "--epochs", "0.1", "--batch-size", "4")
    assert_sentence(result, "the disk is full")
    assert not (tiny_disk / "model").exists()


def test_train_resume_from_a_half_written_checkpoint(tmp_path):
    from quoradup_gui.core.encode.model_folders import work_dir

    target = tmp_path / "model"
    checkpoint = work_dir(target) / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 4}', encoding="utf-8")
    (checkpoint / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")  # cut off
    result = quoradup("train", "--pairs", str(small_pair_file(tmp_path)), "--output", str(target), "--resume")
    assert_sentence(result, "is whole", "model.safetensors is cut off")
