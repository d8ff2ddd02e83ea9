"""`quoradup mine` and `quoradup evaluate` end to end on the demo collection and the bundled model."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from quoradup_gui.core.resources import demo_collection_path, resource_path

DEMO_GROUPS = json.loads(resource_path("demo_groups.json").read_text())


def quoradup(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "quoradup_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    out = tmp_path_factory.mktemp("mine")
    result = quoradup("mine", str(demo_collection_path()), "--threshold", "0.8", "--json",
                      "--clusters-out", str(out / "clusters.csv"), "--dedup-out", str(out / "dedup.xlsx"))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), out


def test_mine_json_summary(mined):
    summary, _ = mined
    demo = pd.read_csv(demo_collection_path())
    assert summary["n_questions"] == len(demo)
    assert summary["n_clusters"] + summary["n_removed"] == len(demo)
    assert summary["threshold"] == 0.8 and summary["seconds"] > 0
    assert summary["n_removed"] >= 16  # at least the planted exact duplicates


def test_clusters_file_has_every_row_and_the_known_groups(mined):
    summary, out = mined
    demo = pd.read_csv(demo_collection_path())
    clusters = pd.read_csv(out / "clusters.csv")
    assert list(clusters.columns[:7]) == ["row", "cluster_id", "cluster_size", "is_canonical",
                                          "similarity_to_canonical", "text", "question_edited"]
    assert len(clusters) == len(demo) and clusters["row"].tolist() == list(range(1, len(demo) + 1))
    assert clusters["id"].tolist() == demo["id"].tolist()  # the file's own columns follow
    assert clusters["is_canonical"].sum() == summary["n_clusters"]
    cluster_of = dict(zip(clusters["id"], clusters["cluster_id"]))
    for group in DEMO_GROUPS["exact_duplicate_groups"]:  # exact duplicates are always together
        assert len({cluster_of[i] for i in group}) == 1, group
    # Meaning, not spelling: paraphrase pairs share a cluster far more often than other pairs.
    group_pairs = [(a, b) for g in DEMO_GROUPS["paraphrase_groups"] for i, a in enumerate(g) for b in g[i + 1:]]
    in_groups = {frozenset(p) for p in group_pairs}
    ids = clusters["id"].tolist()
    other_pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if frozenset((a, b)) not in in_groups]
    rate_groups = sum(cluster_of[a] == cluster_of[b] for a, b in group_pairs) / len(group_pairs)
    rate_other = sum(cluster_of[a] == cluster_of[b] for a, b in other_pairs) / len(other_pairs)
    # (The default kept-question mode, at 0.84: 0.097 against 0.0005; chaining modes join a few more
    # paraphrases, and far more pairs that are not.)
    assert rate_groups > 0.08 and rate_groups > 100 * rate_other, (rate_groups, rate_other)


def test_dedup_spreadsheet_keeps_columns_and_order(mined):
    summary, out = mined
    demo = pd.read_csv(demo_collection_path())
    dedup = pd.read_excel(out / "dedup.xlsx")
    assert list(dedup.columns) == list(demo.columns)
    assert len(dedup) == len(demo) - summary["n_removed"]
    assert dedup["id"].is_monotonic_increasing  # original order kept
    clusters = pd.read_csv(out / "clusters.csv")
    assert set(dedup["id"]) == set(clusters.loc[clusters["is_canonical"], "id"])


def test_mine_refuses_to_overwrite_the_input(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text("question\nWhat is it?\nwhat is it\n", encoding="utf-8")
    before = src.read_bytes()
    result = quoradup("mine", str(src), "--dedup-out", str(src))
    assert result.returncode == 2 and "input file" in result.stderr
    assert src.read_bytes() == before


def test_mine_bad_input_and_missing_column(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    assert quoradup("mine", str(empty)).returncode == 2
    src = tmp_path / "q.csv"
    src.write_text("question\nWhat is it?\n", encoding="utf-8")
    result = quoradup("mine", str(src), "--column", "nope")
    assert result.returncode == 2 and "nope" in result.stderr


def test_evaluate_on_pairs_from_the_demo(tmp_path):
    demo = pd.read_csv(demo_collection_path()).set_index("id")["question"]
    rows = []
    for group in DEMO_GROUPS["paraphrase_groups"]:
        rows.append((demo[group[0]], demo[group[1]], 1))
    groups = DEMO_GROUPS["paraphrase_groups"]
    for g, h in zip(groups, groups[1:]):  # questions of different groups: not duplicates
        rows.append((demo[g[0]], demo[h[-1]], 0))
    pairs = tmp_path / "pairs.csv"
    pd.DataFrame(rows, columns=["question1", "question2", "is_duplicate"]).to_csv(pairs, index=False)
    result = quoradup("evaluate", "--pairs", str(pairs), "--mining", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"ap", "f1", "precision", "recall", "threshold", "accuracy", "n_pairs", "mining"}
    assert data["n_pairs"] == len(rows)
    assert data["ap"] > 0.85 and 0 < data["threshold"] < 1
    assert 0 <= data["mining"]["ap"] <= 1 and data["mining"]["n_gold_pairs"] >= len(DEMO_GROUPS["paraphrase_groups"])


def test_evaluate_needs_labelled_pairs(tmp_path):
    result = quoradup("evaluate", "--pairs", str(demo_collection_path()))
    assert result.returncode == 2 and "not a labelled pair file" in result.stderr


def test_evaluate_offline_hub_model_says_what_to_do(tmp_path):
    pairs = tmp_path / "p.csv"
    pairs.write_text("question1,question2,is_duplicate\nA?,B?,1\nC?,D?,0\n", encoding="utf-8")
    result = quoradup("evaluate", "--pairs", str(pairs), "--model", "someone/not-a-real-model-xyz")
    assert result.returncode == 2
    assert "default" in result.stderr and "Traceback" not in result.stderr
