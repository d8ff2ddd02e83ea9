"""Resolving models, choosing devices, loading once, fingerprints."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quoradup_gui.core.encode.hub import forget_answers, hub_unreachable_reason
from quoradup_gui.core.encode.models import (
    DEFAULT_MODEL,
    ModelError,
    ModelSpec,
    device_description,
    load_model,
    model_fingerprint,
    model_max_seq_length,
    pick_device,
    resolve_model,
)
from quoradup_gui.core.errors import QuoradupError

from .conftest import copy_model_folder

torch = pytest.importorskip("torch")


# ----------------------------------------------------------------------------- resolve_model


def test_default_resolves_to_the_bundled_folder(bundled_spec):
    spec = resolve_model(DEFAULT_MODEL)
    assert spec == bundled_spec
    assert spec.kind == "bundled" and spec.hub_id is None
    assert (spec.path / "modules.json").is_file()
    assert "all-MiniLM-L6-v2" in spec.describe()
    assert model_max_seq_length(spec) == 256


def test_a_model_folder_resolves_as_str_or_path(tmp_path):
    folder = copy_model_folder(tmp_path / "my model")
    for name in (str(folder), folder):
        spec = resolve_model(name)
        assert spec.kind == "folder" and spec.path == folder.resolve() and spec.hub_id is None
        assert str(folder) in spec.describe()


def test_a_bare_transformers_checkpoint_is_a_model_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(tmp_path).kind == "folder"


def test_a_folder_without_a_model_says_what_is_missing(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelError, match="modules.json") as info:
        resolve_model(tmp_path)
    assert isinstance(info.value, QuoradupError)


def test_a_file_or_a_missing_path_is_not_a_model(tmp_path):
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"x")
    with pytest.raises(ModelError, match="not a model folder"):
        resolve_model(file)
    with pytest.raises(ModelError, match="not found"):
        resolve_model(tmp_path / "missing")
    with pytest.raises(ModelError, match="not found"):
        resolve_model("./no/such/folder")


@pytest.mark.parametrize("hub_id", ["sentence-transformers/all-MiniLM-L6-v2", "all-mpnet-base-v2", "org_1/model.v2"])
def test_hub_shaped_names_resolve_as_hub_ids(hub_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so no relative folder of that name can exist
    spec = resolve_model(hub_id)
    assert spec == ModelSpec(name=hub_id, kind="hub", path=None, hub_id=hub_id)
    assert "Hugging Face Hub" in spec.describe()


@pytest.mark.parametrize("name", ["", "   ", "a/b/c", "has space", "org/../x", "-leading/dash", "x" * 200])
def test_other_names_are_errors(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError):
        resolve_model(name)


# ----------------------------------------------------------------------------- devices


def test_pick_device_on_this_machine():
    if torch.cuda.is_available():
        assert pick_device() == "cuda"
    else:
        assert pick_device() in ("cpu", "mps")
        assert pick_device(None) == pick_device("auto")
    assert pick_device("cpu") == "cpu"
    assert pick_device(" CPU ") == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_unavailable_cuda_is_a_model_error(device):
    with pytest.raises(ModelError, match="CUDA"):
        pick_device(device)


def test_unknown_device_is_a_model_error():
    with pytest.raises(ModelError, match="Unknown device"):
        pick_device("tpu")


def test_device_description_of_the_cpu():
    text = device_description("cpu")
    assert text.startswith("CPU (") and "core" in text


# ----------------------------------------------------------------------------- loading


def test_load_model_reuses_the_loaded_model(bundled_model, bundled_spec):
    model = load_model(bundled_spec, "cpu")
    assert load_model("default", "cpu") is model
    assert model.encode(["hello"]).shape == (1, 384)


def test_an_offline_hub_id_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        load_model("made-up-org/quoradup-no-such-model-3f9a", "cpu")
    message = str(info.value)
    assert message.startswith(
        "Model 'made-up-org/quoradup-no-such-model-3f9a' was not found: it is not a model folder, it is not in the "
        "local Hugging Face cache, and the Hugging Face Hub cannot be reached (HF_HUB_OFFLINE is set)."
    )
    assert "'default' (the bundled all-MiniLM-L6-v2)" in message and "connect and try again" in message
    assert time.perf_counter() - start < 5  # offline: no waiting on timeouts


# ----------------------------------------------------------------------------- the hub, checked in seconds

NO_SUCH_HOST = "https://quoradup-no-such-host.invalid"  # .invalid never resolves (RFC 2606)


@pytest.fixture
def online(monkeypatch):
    """HF_HUB_OFFLINE unset and no proxy, as on a user's machine; no answer of an earlier check remembered."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                 "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    forget_answers()
    yield monkeypatch
    forget_answers()


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:9", NO_SUCH_HOST])  # connection refused; no such name
def test_an_unreachable_hub_fails_a_model_name_in_seconds(online, endpoint):
    online.setenv("HF_ENDPOINT", endpoint)
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        load_model("made-up-org/quoradup-no-such-model-3f9a", "cpu")
    message = str(info.value)
    assert "it is not a model folder, it is not in the local Hugging Face cache, and the Hugging Face Hub cannot " \
           "be reached (" in message
    assert ("connection refused" if "127.0.0.1" in endpoint else "could not be looked up") in message
    assert time.perf_counter() - start < 5


def test_a_listening_hub_or_proxy_counts_as_reachable(online):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        online.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert hub_unreachable_reason() is None
        online.setenv("HF_ENDPOINT", NO_SUCH_HOST)
        assert "could not be looked up" in hub_unreachable_reason()
        online.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        forget_answers()
        assert hub_unreachable_reason() is None  # the proxy answers for the hub
        online.setenv("NO_PROXY", "quoradup-no-such-host.invalid")
        forget_answers()
        assert "could not be looked up" in hub_unreachable_reason()


def test_a_hanging_name_lookup_gives_up_in_time(online):
    online.setattr(socket, "getaddrinfo", lambda *args, **kwargs: time.sleep(5))
    start = time.perf_counter()
    assert "took more than 0.3 s" in hub_unreachable_reason(timeout=0.3)
    assert time.perf_counter() - start < 1


def test_a_cached_hub_model_loads_from_the_cache_when_the_hub_is_unreachable(tmp_path):
    cache = tmp_path / "hub"
    repo = cache / "models--made-up-org--cached-copy"
    copy_model_folder(repo / "snapshots" / "0123abcd")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HUB_CACHE=str(cache), HF_ENDPOINT="http://127.0.0.1:9", OMP_NUM_THREADS="1")
    code = ("import time; t = time.perf_counter(); from quoradup_gui.core.encode.models import load_model; "
            "model = load_model('made-up-org/cached-copy', 'cpu'); print(model.encode(['hi']).shape, "
            "round(time.perf_counter() - t, 1))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(1, 384)")
    assert time.perf_counter() - start < 30, out.stdout  # not a minute of retries before the cache is used
    assert "Retrying" not in out.stderr


def test_a_broken_model_folder_is_a_model_error(tmp_path):
    (tmp_path / "modules.json").write_text("this is not json")
    with pytest.raises(ModelError, match="Could not load the model"):
        load_model(tmp_path, "cpu")


# ----------------------------------------------------------------------------- fingerprints


def test_fingerprint_is_stable_fast_and_location_independent(bundled_spec, tmp_path):
    first = model_fingerprint(bundled_spec)
    start = time.perf_counter()
    again = model_fingerprint(bundled_spec)
    elapsed = time.perf_counter() - start
    assert first == again and len(first) == 16 and int(first, 16) >= 0
    assert elapsed < 0.5  # ~20 ms here; generous for a busy CI machine
    copy = resolve_model(copy_model_folder(tmp_path / "copy", link_weights=False))
    assert model_fingerprint(copy) == first


def test_fingerprint_changes_when_a_saved_model_changes(tmp_path):
    folder = copy_model_folder(tmp_path / "fine-tuned", link_weights=False)
    spec = resolve_model(folder)
    original = model_fingerprint(spec)

    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF  # same size, one byte of the last tensor differs: as after a re-save
    weights.write_bytes(bytes(data))
    after_weights = model_fingerprint(spec)
    assert after_weights != original

    config = folder / "sentence_bert_config.json"
    config.write_text(config.read_text().replace("256", "128"))
    assert model_fingerprint(spec) not in (original, after_weights)

    # Trainer leftovers are not part of the model.
    (folder / "checkpoint-500").mkdir()
    (folder / "checkpoint-500" / "trainer_state.json").write_text("{}")
    assert model_fingerprint(spec) == model_fingerprint(resolve_model(folder))


def test_hub_fingerprint_uses_the_cached_revision(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    spec = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    unknown = model_fingerprint(spec)
    assert unknown == model_fingerprint(spec)
    refs = tmp_path / "models--sentence-transformers--all-MiniLM-L6-v2" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text("c9745ed1d9f207416be6d2e6f8de32d1f16199bf")
    assert model_fingerprint(spec) != unknown
    assert os.environ["HF_HUB_CACHE"] == str(tmp_path)


def test_import_stays_cheap():
    code = "import sys, quoradup_gui.core.encode.models, quoradup_gui.core.encode.embedding, " \
        "quoradup_gui.core.encode.onnx_backend; " \
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'onnxruntime') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == "[]"
