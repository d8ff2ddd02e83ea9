"""`quoradup train` end to end in a subprocess: --json, --config, bad input, and torchrun (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

# One torch thread: on a busy 2-core machine two threads are several times slower.
ENV = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")


def quoradup(*args, timeout=300, env=ENV):
    return subprocess.run([sys.executable, "-m", "quoradup_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture
def pair_file(tmp_path) -> Path:
    """Per topic a duplicate pair, a non-duplicate pair and a link between them."""
    rows = []
    for topic in ["Python", "guitar", "French", "chess", "swimming", "calculus", "photography", "cooking",
                  "Spanish", "drawing", "piano", "typing"]:
        a, b = f"How do I learn {topic}?", f"What is the best way to learn {topic}?"
        c, d = f"Is {topic} hard to learn?", f"Why do people give up {topic}?"
        rows += [(a, b, 1), (c, d, 0), (a, c, 0)]
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"]).to_csv(path, index=False)
    return path


def test_train_json_end_to_end_with_a_config_file(tmp_path, pair_file):
    config = tmp_path / "train.json"  # what the Train tab saves; options on the command line win
    config.write_text(json.dumps({"loss": "mnrl", "batch_size": 4, "epochs": 0.3, "logging_steps": 1,
                                  "eval_steps": 1000, "seed": 3}), encoding="utf-8")
    out = tmp_path / "model"
    result = quoradup("train", "--pairs", str(pair_file), "--config", str(config), "--loss", "online-contrastive",
                      "--output", str(out), "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout holds the one JSON object and nothing else
    assert {"output", "base", "trained", "seconds", "samples_per_s"} <= set(data)
    assert data["output"] == str(out) and data["loss"] == "online-contrastive" and not data["cancelled"]
    assert set(data["base"]) >= {"ap", "f1"} and 0 <= data["trained"]["ap"] <= 1
    assert data["samples_per_s"] > 0 and data["seconds"] > 0
    record = json.loads((out / "quoradup_training.json").read_text(encoding="utf-8"))
    assert record["config"]["batch_size"] == 4 and record["config"]["seed"] == 3  # from the config file
    assert record["config"]["loss"] == "online-contrastive"  # the option overrode the file

    # The model folder is a model for every other command.
    evaluated = quoradup("evaluate", "--model", str(out), "--pairs", str(pair_file), "--backend", "torch",
                         "--no-cache", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert 0 <= json.loads(evaluated.stdout)["ap"] <= 1


@pytest.mark.parametrize("args, message", [
    (["--pairs", "missing.csv"], "does not exist"),
    (["--pairs", "sentence-transformers/quora-duplicates"], "Hub is unreachable"),
    ([], "needs --pairs"),
    (["--pairs", "PAIRS", "--loss", "mnrl", "--batch-size", "0"], "batch size must be 1 or more"),
])
def test_bad_input_exits_2_with_a_message(tmp_path, pair_file, args, message):
    args = [str(pair_file) if a == "PAIRS" else str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    result = quoradup("train", *args, "--output", str(tmp_path / "model"), "--json")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and result.stdout == ""
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", "https://quoradup-no-such-host.invalid"])
def test_a_bad_base_model_name_fails_in_seconds_when_the_hub_is_unreachable(tmp_path, pair_file, endpoint):
    """Not a folder, not cached, the hub unreachable (refused; no such name) and HF_HUB_OFFLINE unset, as
    on a user's machine: exit 2 with the reason within seconds, not after a minute of hub retries."""
    env = {k: v for k, v in ENV.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env["HF_ENDPOINT"] = endpoint
    start = time.perf_counter()
    result = quoradup("train", "--pairs", str(pair_file), "--model", "made-up-org/quoradup-no-such-model-3f9a",
                      "--output", str(tmp_path / "model"), "--device", "cpu", timeout=120, env=env)
    elapsed = time.perf_counter() - start
    assert result.returncode == 2, result.stderr
    assert "Model 'made-up-org/quoradup-no-such-model-3f9a' was not found: it is not a model folder, it is not in " \
           "the local Hugging Face cache, and the Hugging Face Hub cannot be reached" in result.stderr
    assert "Retrying" not in result.stderr
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert not (tmp_path / "model").exists()


def test_collection_file_is_not_training_data(tmp_path):
    path = tmp_path / "questions.csv"
    pd.DataFrame({"question": ["How old is Rome?", "Why is the sky blue?"]}).to_csv(path, index=False)
    result = quoradup("train", "--pairs", str(path))
    assert result.returncode == 2 and "not a pair file" in result.stderr


LAUNCHERS = {
    "torchrun": ["torchrun", "--nproc_per_node=2"],
    "accelerate": ["accelerate", "launch", "--multi_gpu", "--num_processes=2", "--num_machines=1",
                   "--mixed_precision=no", "--dynamo_backend=no"],  # --multi_gpu: DDP, on gloo without a GPU
}


@pytest.mark.parametrize("launcher", [
    "torchrun", pytest.param("accelerate", marks=pytest.mark.slow)])
def test_two_processes_on_cpu(tmp_path, pair_file, launcher):
    """DDP with gloo on the CPU: one JSON line (rank 0), one model folder, no deadlock in evaluation."""
    command = LAUNCHERS[launcher]
    program = Path(sys.executable).with_name(command[0])
    if not program.exists():
        pytest.skip(f"{command[0]} is not installed")
    out = tmp_path / "model"
    result = subprocess.run(
        [str(program), *command[1:], "-m", "quoradup_gui.cli", "train", "--pairs", str(pair_file), "--loss",
         "multi-task", "--batch-size", "4", "--epochs", "0.5", "--output", str(out), "--device", "cpu", "--json"],
        capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout  # only rank 0 prints
    data = json.loads(lines[0])
    assert data["world_size"] == 2 and data["output"] == str(out) and data["steps"] >= 2
    assert data["base"] is not None and data["trained"] is not None  # evaluation ran without a deadlock
    assert (out / "modules.json").is_file() and (out / "quoradup_training.json").is_file()
    assert not list(tmp_path.glob(".model.*"))
