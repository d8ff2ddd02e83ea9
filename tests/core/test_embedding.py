"""Encoding with the bundled model: agreement with sentence-transformers, the cache, cancel, ONNX."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from quoradup_gui.core.encode import embedding, onnx_backend
from quoradup_gui.core.encode.embedding import EmbeddingCache, EncodeOptions, encode_texts, text_digests
from quoradup_gui.core.encode.models import ModelError, model_fingerprint, resolve_model
from quoradup_gui.core.errors import JobCancelled, QuoradupError
from quoradup_gui.core.jobs import RecordingContext
from quoradup_gui.core.text import key_text

from .conftest import copy_model_folder

torch = pytest.importorskip("torch")

QUESTIONS = [
    "How do I learn Python quickly?",
    "What is the fastest way to learn Python?",
    "Why is the sky blue?",
    "How can I lose weight without dieting?",
    "What is the capital of Australia?",
    "Is Sydney the capital of Australia?",
    "How does compound interest work?",
    "What are the best books on machine learning for beginners?",
    "Why do cats purr?",
    "How do airplanes stay in the air?",
    "What caused the First World War?",
    "How can I improve my English speaking skills?",
]


def torch_options(tmp_path, **kw) -> EncodeOptions:
    return EncodeOptions(backend="torch", device="cpu", cache_dir=tmp_path / "cache", **kw)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def vector_folder(tmp_path, spec, backend="torch"):
    return tmp_path / "cache" / model_fingerprint(spec) / f"vectors-{backend}"


@pytest.fixture(scope="module")
def reference(bundled_model) -> np.ndarray:
    return bundled_model.encode(QUESTIONS, convert_to_numpy=True, normalize_embeddings=True)


# ----------------------------------------------------------------------------- basics


def test_key_text_collapses_whitespace_only():
    assert key_text("  How  do\tI\n learn?  ") == "How do I learn?"
    assert key_text("HOW do I learn?!") == "HOW do I learn?!"
    assert key_text("\u00a0a\u2003b ") == "a b"
    assert key_text("") == ""
    with pytest.raises(TypeError):
        key_text(float("nan"))


def test_options_are_validated(tmp_path):
    for bad in (dict(backend="tensorflow"), dict(cache_dtype="int8"), dict(batch_size=0)):
        with pytest.raises(QuoradupError):
            encode_texts("default", ["x"], EncodeOptions(cache_dir=tmp_path, **bad))


def test_torch_encoding_matches_sentence_transformers(bundled_model, reference, tmp_path):
    ctx = RecordingContext()
    result = encode_texts("default", QUESTIONS, torch_options(tmp_path, batch_size=5), ctx)
    assert result.embeddings.shape == (len(QUESTIONS), 384) and result.embeddings.dtype == np.float32
    assert cosine_rows(result.embeddings, reference).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)
    assert (result.n_encoded, result.n_cached, result.backend) == (len(QUESTIONS), 0, "torch")
    assert result.model_fingerprint == model_fingerprint(resolve_model("default"))
    assert any("Encoding 12 questions" in s for s in ctx.statuses)
    assert [done for done, _ in ctx.progress] == [5, 10, 12] and ctx.progress[-1] == (12, 12)


def test_without_cache_the_vectors_are_the_models_own(reference, tmp_path):
    result = encode_texts("default", QUESTIONS, torch_options(tmp_path, use_cache=False))
    np.testing.assert_allclose(result.embeddings, reference, atol=1e-5)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.npy"))


def test_duplicates_are_encoded_once(tmp_path):
    texts = ["Why is the sky blue?", "  Why is the  sky blue? ", "Why is the sky blue?", "why is the sky blue?"]
    result = encode_texts("default", texts, torch_options(tmp_path))
    assert result.n_encoded == 2  # the lower-case one is a different text to the model
    e = result.embeddings
    assert np.array_equal(e[0], e[1]) and np.array_equal(e[0], e[2])


def test_empty_input(tmp_path):
    result = encode_texts("default", [], torch_options(tmp_path))
    assert result.embeddings.shape == (0, 384) and result.n_encoded == 0


# ----------------------------------------------------------------------------- the cache


def test_second_run_is_a_full_hit_without_the_model(tmp_path, monkeypatch):
    first = encode_texts("default", QUESTIONS, torch_options(tmp_path))

    def no_model(*args, **kwargs):
        raise AssertionError("a full cache hit must not load the model")

    monkeypatch.setattr(embedding, "TorchEncoder", no_model)
    second = encode_texts("default", QUESTIONS[::-1], torch_options(tmp_path))
    assert (second.n_encoded, second.n_cached) == (0, len(QUESTIONS))
    # Fresh vectors go through the cache's float16 too, so both runs agree exactly.
    np.testing.assert_array_equal(second.embeddings, first.embeddings[::-1])


def test_partial_hit_encodes_only_new_texts(tmp_path, reference):
    encode_texts("default", QUESTIONS[:8], torch_options(tmp_path))
    result = encode_texts("default", QUESTIONS, torch_options(tmp_path))
    assert (result.n_encoded, result.n_cached) == (4, 8)
    assert cosine_rows(result.embeddings, reference).min() > 0.999


def test_float32_cache(tmp_path, reference):
    options = torch_options(tmp_path, cache_dtype="float32")
    encode_texts("default", QUESTIONS, options)
    again = encode_texts("default", QUESTIONS, options)
    assert again.n_encoded == 0
    np.testing.assert_allclose(again.embeddings, reference, atol=1e-6)


def test_truncated_segment_is_ignored_and_rebuilt(tmp_path, bundled_spec, reference):
    encode_texts("default", QUESTIONS, torch_options(tmp_path))
    folder = vector_folder(tmp_path, bundled_spec)
    (vec_file,) = folder.glob("seg-*.vec.npy")
    vec_file.write_bytes(vec_file.read_bytes()[:-1000])  # as if the disk filled up mid-write

    result = encode_texts("default", QUESTIONS, torch_options(tmp_path))
    assert result.n_encoded == len(QUESTIONS)
    assert cosine_rows(result.embeddings, reference).min() > 0.999
    assert not vec_file.exists()
    assert encode_texts("default", QUESTIONS, torch_options(tmp_path)).n_encoded == 0


def test_garbage_files_are_ignored(tmp_path, bundled_spec, reference):
    encode_texts("default", QUESTIONS[:6], torch_options(tmp_path))
    folder = vector_folder(tmp_path, bundled_spec)
    rng = np.random.default_rng(0)
    (folder / "notes.bin").write_bytes(rng.bytes(5000))
    (folder / "seg-garbage.key.npy").write_bytes(rng.bytes(5000))
    (folder / "seg-garbage.vec.npy").write_bytes(rng.bytes(5000))
    np.save(folder / "seg-wrongshape.key.npy", np.zeros((3, 2), np.uint64))
    np.save(folder / "seg-wrongshape.vec.npy", np.zeros((4, 384), np.float16))

    result = encode_texts("default", QUESTIONS, torch_options(tmp_path))
    assert (result.n_encoded, result.n_cached) == (6, 6)
    assert cosine_rows(result.embeddings, reference).min() > 0.999
    assert (folder / "notes.bin").exists()  # not ours: left alone
    assert not (folder / "seg-garbage.key.npy").exists() and not (folder / "seg-wrongshape.key.npy").exists()


def test_cancel_keeps_the_batches_already_encoded(tmp_path, reference):
    options = torch_options(tmp_path, batch_size=3)
    ctx = RecordingContext(cancel_after=2)
    with pytest.raises(JobCancelled):
        encode_texts("default", QUESTIONS, options, ctx)
    assert len(ctx.progress) == 2  # stopped before a third batch

    result = encode_texts("default", QUESTIONS, options)
    assert (result.n_cached, result.n_encoded) == (6, 6)
    assert cosine_rows(result.embeddings, reference).min() > 0.999


def test_long_runs_save_segments_as_they_go_and_compact(tmp_path, bundled_spec, reference, monkeypatch):
    monkeypatch.setattr(embedding, "FLUSH_EVERY", 2)
    monkeypatch.setattr(embedding, "COMPACT_ABOVE", 4)
    saved = []
    real_add = EmbeddingCache.add
    monkeypatch.setattr(EmbeddingCache, "add", lambda self, d, v, dt="float16": (saved.append(len(d)), real_add(self, d, v, dt)))
    encode_texts("default", QUESTIONS, torch_options(tmp_path, batch_size=2))
    assert saved == [2] * 6  # a segment per two texts, then compacted into one
    assert len(list(vector_folder(tmp_path, bundled_spec).glob("seg-*.key.npy"))) == 1
    result = encode_texts("default", QUESTIONS, torch_options(tmp_path))
    assert result.n_encoded == 0 and cosine_rows(result.embeddings, reference).min() > 0.999


def test_cache_lookup_on_many_entries(tmp_path):
    rng = np.random.default_rng(1)
    texts = [f"question {i}" for i in range(30_000)]
    digests = text_digests(texts)
    vectors = rng.standard_normal((len(texts), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cache = EmbeddingCache(tmp_path)
    cache.add(digests[:20_000], vectors[:20_000])
    cache.add(digests[15_000:], vectors[15_000:], "float32")  # overlapping segments are fine

    reopened = EmbeddingCache(tmp_path)
    wanted = np.r_[rng.permutation(30_000)[:5000], np.arange(5)]
    probe = np.concatenate([digests[wanted], text_digests(["not cached", "nor this"])])
    found, got = reopened.lookup(probe)
    assert found.tolist() == [True] * len(wanted) + [False, False]
    assert got.shape == (len(probe), 8) and got.dtype == np.float32
    np.testing.assert_allclose(got[found], vectors[wanted], atol=2e-3)
    reopened.compact()
    assert EmbeddingCache(tmp_path).n_segments == 1 and len(EmbeddingCache(tmp_path)) == 30_000


# ----------------------------------------------------------------------------- ONNX int8


@pytest.fixture(scope="session")
def onnx_verdict(bundled_spec, onnx_cache_dir):
    """Export + quantise + agreement check, once per session (~10 s on 2 cores)."""
    return onnx_backend.ensure_verdict(bundled_spec, model_fingerprint(bundled_spec), onnx_cache_dir)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX scheduling priorities")
def test_the_onnx_check_process_runs_below_the_app(bundled_spec, tmp_path):
    # On 2 cores the check's export took the CPU from an idle window (a 118 ms heartbeat gap in CI).
    probe = (
        "import os, sys\n"
        "from quoradup_gui.core.encode import onnx_backend as b\n"
        "def check(*a, **k):\n"
        "    print('niceness', os.nice(0)); sys.exit(0)\n"
        "b.check_agreement = check\n"
        "b._main(sys.argv[1:])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(bundled_spec.path), "f" * 16, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"niceness {min(os.nice(0) + onnx_backend.CHECK_NICENESS, 19)}" in done.stdout


def test_onnx_int8_agrees_with_torch_on_the_check_set(onnx_verdict, bundled_spec, onnx_cache_dir):
    assert onnx_verdict.ok, onnx_verdict.reason
    assert onnx_verdict.mean_cosine >= onnx_backend.AGREEMENT_THRESHOLD
    assert onnx_verdict.min_cosine > 0.9
    folder = onnx_backend.onnx_folder(onnx_cache_dir, model_fingerprint(bundled_spec))
    stored = json.loads((folder / onnx_backend.VERDICT_FILE).read_text())
    assert stored["mean_cosine"] == pytest.approx(onnx_verdict.mean_cosine)
    assert (folder / onnx_backend.ONNX_FILE).is_file() and not list(folder.glob(".export-*"))


def test_onnx_backend_is_used_and_close_to_torch(onnx_verdict, onnx_cache_dir, reference):
    options = EncodeOptions(backend="onnx-int8", cache_dir=onnx_cache_dir, use_cache=False)
    result = encode_texts("default", QUESTIONS, options)
    assert result.backend == "onnx-int8" and result.n_encoded == len(QUESTIONS)
    cosines = cosine_rows(result.embeddings, reference)
    assert cosines.mean() >= 0.99 and cosines.min() > 0.97
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)


def test_auto_picks_onnx_on_the_cpu_after_the_check(onnx_verdict, onnx_cache_dir, bundled_spec, monkeypatch):
    monkeypatch.setattr(onnx_backend, "check_agreement", lambda *a, **k: pytest.fail("the verdict is remembered"))
    onnx_file = onnx_backend.onnx_folder(onnx_cache_dir, model_fingerprint(bundled_spec)) / onnx_backend.ONNX_FILE
    exported_at = onnx_file.stat().st_mtime_ns
    options = EncodeOptions(backend="auto", device="cpu", cache_dir=onnx_cache_dir)
    first = encode_texts("default", QUESTIONS[:4], options)
    assert first.backend == "onnx-int8" and first.n_encoded == 4
    assert encode_texts("default", QUESTIONS[:4], options).n_encoded == 0
    # torch vectors are cached apart from int8 ones: never mixed in one result
    assert encode_texts("default", QUESTIONS[:4], EncodeOptions(backend="torch", cache_dir=onnx_cache_dir)).n_encoded == 4
    assert onnx_file.stat().st_mtime_ns == exported_at  # exported once


def test_onnx_respects_max_seq_length(onnx_verdict, onnx_cache_dir, bundled_model):
    long_text = " ".join(["this question goes on and on"] * 40)
    options = EncodeOptions(backend="onnx-int8", cache_dir=onnx_cache_dir, max_seq_length=16, use_cache=False)
    short = encode_texts("default", [long_text], options).embeddings
    short_options = EncodeOptions(backend="torch", max_seq_length=16, use_cache=False)
    torch_short = encode_texts("default", [long_text], short_options).embeddings
    assert cosine_rows(short, torch_short)[0] > 0.98
    assert bundled_model.max_seq_length == 256  # the shared model is restored


def test_models_the_onnx_path_cannot_run_stay_on_torch(tmp_path):
    folder = copy_model_folder(tmp_path / "cls-model")
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    spec = resolve_model(folder)
    assert "pooling" in onnx_backend.unsupported_reason(spec)
    assert "local model folder" in onnx_backend.unsupported_reason(resolve_model("sentence-transformers/x"))
    with pytest.raises(ModelError, match="onnx-int8"):
        encode_texts(spec, ["x"], EncodeOptions(backend="onnx-int8", cache_dir=tmp_path / "c"))
    result = encode_texts(spec, ["x"], EncodeOptions(backend="auto", device="cpu", cache_dir=tmp_path / "c"))
    assert result.backend == "torch"


@pytest.mark.slow
def test_a_damaged_onnx_file_is_exported_again(bundled_spec, tmp_path):
    fingerprint = model_fingerprint(bundled_spec)
    folder = onnx_backend.onnx_folder(tmp_path, fingerprint)
    folder.mkdir(parents=True)
    (folder / onnx_backend.ONNX_FILE).write_bytes(b"not an onnx model")
    encoder = onnx_backend.get_onnx_encoder(bundled_spec, fingerprint, tmp_path)
    assert encoder.encode(["Why is the sky blue?"]).shape == (1, 384)


@pytest.mark.parametrize("damage", ["nan", "zero", "random"])
def test_a_segment_with_bad_values_is_re_encoded(tmp_path, bundled_spec, reference, damage):
    """Issue 10: NaN values used to crash every later mine; zero or random ones were used silently."""
    encode_texts("default", QUESTIONS, torch_options(tmp_path))
    (vec_file,) = vector_folder(tmp_path, bundled_spec).glob("seg-*.vec.npy")
    vectors = np.load(vec_file)
    bad = {"nan": np.nan, "zero": 0.0}.get(damage)
    vectors[2:4] = bad if bad is not None else np.random.default_rng(0).normal(size=vectors[2:4].shape) * 3
    np.save(vec_file, vectors)

    result = encode_texts("default", QUESTIONS, torch_options(tmp_path))
    assert np.isfinite(result.embeddings).all()
    assert cosine_rows(result.embeddings, reference).min() > 0.999
    assert result.n_encoded == len(QUESTIONS)  # the whole damaged segment went through the model again
    assert encode_texts("default", QUESTIONS, torch_options(tmp_path)).n_encoded == 0  # and was saved anew
