"""Issue 10: models that can be lost or replaced by worse ones, labels read wrong, tracebacks at save."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from quoradup_gui.core.encode import model_folders
from quoradup_gui.core.encode.model_folders import RECORD_FILE, place, recover_folder, recover_swap, work_dir
from quoradup_gui.core.encode.models import resolve_model
from quoradup_gui.core.errors import ColumnError, QuoradupError
from quoradup_gui.core.training.data import PAIR_CLASS, load_pairs
from quoradup_gui.core.training.run import TrainingConfig, run_training

from ..conftest import fill_disk
from .conftest import copy_model_folder
from .test_training import labelled_pairs, one_torch_thread, tiny_config  # noqa: F401 (fixture)


@pytest.fixture
def pair_file(tmp_path) -> Path:
    path = tmp_path / "pairs.csv"
    labelled_pairs().to_csv(path, index=False)
    return path


def fake_model(folder: Path, tag: str, record: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "modules.json").write_text("[]", encoding="utf-8")
    (folder / "tag.txt").write_text(tag, encoding="utf-8")
    if record:
        (folder / RECORD_FILE).write_text(json.dumps({"cancelled": False, "output": str(folder)}), encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- 9. the swap


def crash_between_the_renames(monkeypatch, tmp_path: Path, new_is_whole: bool = True) -> Path:
    target = fake_model(tmp_path / "model", "old")
    work = fake_model(work_dir(target), "new", record=new_is_whole)
    if new_is_whole:
        (work / RECORD_FILE).write_text(json.dumps({"output": str(target)}), encoding="utf-8")
    calls = []

    def killed_after_first(src, dst):
        if calls:
            raise KeyboardInterrupt("killed between the renames")
        calls.append(src)
        Path(src).rename(dst)

    monkeypatch.setattr(model_folders, "_rename", killed_after_first)
    with pytest.raises(KeyboardInterrupt):
        place(work, target)
    monkeypatch.undo()
    assert not target.exists() and work.exists() and len(list(tmp_path.glob(".model.old-*"))) == 1
    return target


def test_a_swap_killed_between_its_renames_is_completed_on_the_next_start(monkeypatch, tmp_path):
    target = crash_between_the_renames(monkeypatch, tmp_path)
    assert recover_swap(target) == "completed"
    assert (target / "tag.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # old copy cleaned once the new is in place


def test_a_swap_whose_new_model_is_not_whole_restores_the_old_one(monkeypatch, tmp_path):
    target = crash_between_the_renames(monkeypatch, tmp_path, new_is_whole=False)
    assert recover_swap(target) == "restored"
    assert (target / "tag.txt").read_text() == "old"


def test_looking_the_model_up_recovers_it(monkeypatch, tmp_path):
    target = tmp_path / "model"
    crash_between_the_renames(monkeypatch, tmp_path)
    assert resolve_model(str(target)).path == target.resolve()
    assert recover_folder(tmp_path) == []  # nothing left to do


def test_training_into_the_folder_after_a_crash_first_puts_the_saved_model_in_place(monkeypatch, tmp_path,
                                                                                     pair_file):
    """The next run used to delete the new model in .DIR.partial and leave the old one hidden."""
    target = crash_between_the_renames(monkeypatch, tmp_path)
    result = run_training(tiny_config(tmp_path), pair_file)
    assert result.output == target
    assert any("had saved its model but stopped before putting it in place" in w for w in result.warnings)
    assert not list(tmp_path.glob(".model*"))  # nothing left hidden


# ----------------------------------------------------------------------------- 10. a worse model


def test_a_collapsed_run_is_saved_beside_never_over_the_previous_model(tmp_path, pair_file):
    first = run_training(tiny_config(tmp_path, eval_fraction=0.3), pair_file)
    before = (first.output / RECORD_FILE).read_text(encoding="utf-8")
    ruined = run_training(tiny_config(tmp_path, eval_fraction=0.3, learning_rate=0.9), pair_file)
    assert ruined.trained.ap < ruined.base.ap - 0.02
    assert ruined.output != first.output and ruined.output.name.startswith("model-worse")
    assert (first.output / RECORD_FILE).read_text(encoding="utf-8") == before  # untouched
    assert any("learning rate 0.9 is far above the usual range" in w for w in ruined.warnings)
    assert any("scores worse than the base model" in w and "beside the previous model" in w for w in ruined.warnings)
    assert json.loads((ruined.output / RECORD_FILE).read_text(encoding="utf-8"))["worse_than_base"] is True


def test_learning_rate_warnings():
    assert TrainingConfig(learning_rate=2e-5).warnings() == []
    assert "far above" in TrainingConfig(learning_rate=0.9).warnings()[0]
    assert "far below" in TrainingConfig(learning_rate=1e-9).warnings()[0]


# ----------------------------------------------------------------------------- 11. unknown labels


def test_unknown_labels_train_only_the_pairs_whose_labels_were_read(tmp_path):
    frame = labelled_pairs()
    frame["is_duplicate"] = frame["is_duplicate"].astype(str)
    frame.loc[:3, "is_duplicate"] = ["maybe", "dunno", "maybe", "1"]
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    data = load_pairs(str(path))
    assert data.kind == PAIR_CLASS and len(data) == len(frame) - 3  # never every pair as a duplicate
    assert 0 in data.labels
    assert any('"maybe" (2 rows), "dunno" (1 row)' in w and "3 were left out" in w for w in data.warnings)


def test_labels_that_are_all_unknown_stop_training(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("question1,question2,is_duplicate\nA?,B?,maybe\nC?,D?,dunno\n", encoding="utf-8")
    with pytest.raises(ColumnError, match='"maybe" \\(1 row\\)'):
        load_pairs(str(path))


# ----------------------------------------------------------------------------- 13. save and resume


def test_training_into_a_read_only_folder_says_so(readonly_folder, pair_file, tmp_path):
    config = tiny_config(tmp_path, output_dir=str(readonly_folder / "model"))
    with pytest.raises(QuoradupError, match="cannot be written .*read-only"):
        run_training(config, pair_file)


def test_a_full_disk_while_training_says_so_and_replaces_nothing(tiny_disk, pair_file, tmp_path):
    config = tiny_config(tmp_path, output_dir=str(tiny_disk / "model"))
    with pytest.raises(QuoradupError, match="the disk is full"):
        run_training(config, pair_file)
    assert not (tiny_disk / "model").exists()


def test_resume_from_a_half_written_checkpoint_says_so(tmp_path, pair_file):
    target = tmp_path / "model"
    checkpoint = work_dir(target) / "checkpoint-4"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text('{"global_step": 4}', encoding="utf-8")
    (checkpoint / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")  # cut off
    with pytest.raises(QuoradupError, match="No checkpoint in .* is whole.*model.safetensors is cut off"):
        run_training(tiny_config(tmp_path, resume=True), pair_file)


def test_the_onnx_recovery_path_gives_a_sentence(monkeypatch, tmp_path, bundled_spec):
    from quoradup_gui.core.encode import onnx_backend
    from quoradup_gui.core.encode.models import ModelError

    damaged = onnx_backend.onnx_folder(tmp_path, "fingerprint") / onnx_backend.ONNX_FILE
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not an onnx file")
    calls = []

    def export_then_no_space(spec, folder, ctx=None):  # the cached file, then the disk fills on re-export
        calls.append(folder)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return damaged

    monkeypatch.setattr(onnx_backend, "export_int8", export_then_no_space)
    with pytest.raises(ModelError, match="(?s)could not be prepared .*the disk is full.*--backend torch"):
        onnx_backend.get_onnx_encoder(bundled_spec, "fingerprint", tmp_path)
    assert len(calls) == 2  # the recovery path was taken


def test_a_full_disk_at_xlsx_export_leaves_no_half_zip_behind(tiny_disk, capfd):
    import gc

    import pandas as pd

    from quoradup_gui.core.review.export import ExportError, write_table

    fill_disk(tiny_disk, leave=2048)
    frame = pd.DataFrame({"question": [f"Question {i} " + "x" * 200 for i in range(2000)]}, dtype="str")
    with pytest.raises(ExportError, match="the disk is full"):
        write_table(frame, tiny_disk / "out.xlsx")
    gc.collect()
    assert "Exception ignored" not in capfd.readouterr().err
    assert not [p for p in tiny_disk.iterdir() if p.name != ".filler"]  # no temp file left


def test_a_model_folder_copy_still_resolves(tmp_path):
    folder = copy_model_folder(tmp_path / "m")
    assert resolve_model(str(folder)).kind == "folder"


def test_load_warnings_of_a_pair_file_reach_the_training_data(tmp_path):
    frame = labelled_pairs()
    lines = ["question1,question2,is_duplicate"] + [f"{a},{b},{y}" for a, b, y in frame.itertuples(index=False)]
    lines[3] += ",EXTRA"
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = load_pairs(str(path))
    assert any("more fields than the header" in w and "line 4" in w for w in data.warnings)
