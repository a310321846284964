"""Loading checkpoints from a real HTTP server speaking the Hub's protocol (tests/hub_server.py).

No mocking of huggingface_hub: it downloads over HTTP from 127.0.0.1. Each
case checks the reason a visitor is given and that the loaded model still
answers (a prediction runs).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from conftest import ROOT
from hub_server import HubServer
from PIL import Image

from segdemo.checkpoints import make_config, save_checkpoint
from segdemo.hub import httpx
from segdemo.inference import predict
from segdemo.models import build
from segdemo.zoo import ZooEntry, load_model

REPO = "tester/fcn8s-lite-camvid"


def checkpoint_files(tmp_path, seed: int) -> dict[str, bytes]:
    torch.manual_seed(seed)
    model = build("fcn8s_lite")
    folder = tmp_path / f"ckpt{seed}"
    save_checkpoint(model, make_config("fcn8s_lite", model, (90, 120)), folder)
    return {name: (folder / name).read_bytes() for name in ("config.json", "model.safetensors")}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("SEGDEMO_OFFLINE", raising=False)


@pytest.fixture
def hub(tmp_path):
    server = HubServer().start()
    old, new = checkpoint_files(tmp_path, 1), checkpoint_files(tmp_path, 2)
    server.old_sha = server.add_commit(REPO, old)
    server.new_sha = server.add_commit(REPO, new)  # main moves on; the zoo stays pinned to old_sha
    server.old, server.new = old, new
    yield server
    server.stop()


def entry(hub, **changes) -> ZooEntry:
    fields = {"repo_id": REPO, "revision": hub.old_sha, "sha256": sha256(hub.old["model.safetensors"])}
    fields.update(changes)
    return ZooEntry("fcn8s_lite", "FCN-8s (lite)", "FCN", **fields)


def load(hub, tmp_path, probe_timeout=2.0, deadline=20.0, **changes):
    return load_model(
        entry(hub, **changes),
        torch.device("cpu"),
        cache_dir=tmp_path / "cache",
        endpoint=hub.url,
        probe_timeout=probe_timeout,
        deadline=deadline,
    )


def weights_of(files: dict[str, bytes]) -> torch.Tensor:
    from safetensors.torch import load

    return load(files["model.safetensors"])["block1.conv1_1.weight"]


def loaded_weights(model) -> torch.Tensor:
    """The weights file the model was loaded from (the served copy has its batch norms folded in)."""
    return weights_of({"model.safetensors": (model.checkpoint.path / "model.safetensors").read_bytes()})


def answers(model) -> bool:
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    return predict(picture, model.checkpoint).labels.shape == (60, 80)


def is_bundled(model) -> bool:
    return model.source.startswith("bundled copy")


def test_first_download_lands_in_the_cache_at_the_pinned_revision(hub, tmp_path):
    model = load(hub, tmp_path)
    assert model.source == f"Hub {REPO}@{hub.old_sha[:7]}, downloaded" and not model.fallbacks
    assert torch.equal(loaded_weights(model), weights_of(hub.old))
    assert not torch.equal(weights_of(hub.old), weights_of(hub.new))  # the newest commit is not the one loaded
    assert list((tmp_path / "cache").rglob("model.safetensors"))
    assert answers(model)


def test_a_second_start_with_the_server_stopped_loads_from_the_cache(hub, tmp_path):
    load(hub, tmp_path)
    hub.stop()
    hub.requests.clear()
    started = time.monotonic()
    model = load(hub, tmp_path)
    assert time.monotonic() - started < 5
    assert model.source.endswith("from the local cache") and not model.fallbacks
    assert hub.requests == []
    assert answers(model)


def test_the_newest_revision_can_be_pinned_instead(hub, tmp_path):
    model = load(hub, tmp_path, revision=hub.new_sha, sha256=sha256(hub.new["model.safetensors"]))
    assert torch.equal(loaded_weights(model), weights_of(hub.new))


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"repo_id": "tester/nothing-here"}, "has no model repo tester/nothing-here"),
        ({"revision": "0" * 40}, "has no revision 000000000000"),
    ],
)
def test_not_found_falls_back_to_the_bundled_copy(hub, tmp_path, changes, reason):
    model = load(hub, tmp_path, **changes)
    assert is_bundled(model) and reason in model.describe()
    assert answers(model)


def test_a_server_error_falls_back_at_once(hub, tmp_path):
    hub.fail(500)
    started = time.monotonic()
    model = load(hub, tmp_path)
    assert time.monotonic() - started < 5
    assert is_bundled(model) and "answered with an error (500)" in model.describe()
    assert answers(model)


@pytest.mark.parametrize("force", [False, True])
def test_a_failure_after_the_probe_is_named_as_it_is(hub, tmp_path, force):
    """The probe found both files, then the download's own request failed: huggingface_hub says so with a
    LocalEntryNotFoundError ("check your connection"), an EntryNotFoundError too, which was shown as the repo lacking
    its files; with force (a corrupt cached copy downloaded again), a ValueError, shown as a bare class name."""
    if force:  # a cached copy whose sha256 fails is downloaded again with force_download
        assert load(hub, tmp_path).source.endswith("downloaded")
        weights = next((tmp_path / "cache").rglob("model.safetensors"))
        weights.write_bytes(weights.read_bytes()[::-1])
    hub.fail(403, "config.json", after=1)  # the probe's look at config.json passes, the download's fails
    model = load(hub, tmp_path)
    reason = model.describe()
    assert is_bundled(model) and "answered with an error (403)" in reason, reason
    assert "lacks" not in reason and "ValueError" not in reason
    assert answers(model)


def test_a_hanging_server_times_out_within_a_bound(hub, tmp_path):
    hub.hang(30)
    started = time.monotonic()
    model = load(hub, tmp_path, probe_timeout=1.0)
    elapsed = time.monotonic() - started
    hub.reset()
    assert elapsed < 6, elapsed
    assert is_bundled(model) and "did not answer in time" in model.describe()
    assert answers(model)


def test_a_stalled_hub_delays_the_start_once_not_once_a_model(hub, tmp_path, monkeypatch):
    """The download deadline is the start's, shared by the models: with a Hub whose downloads stall, two pinned
    models each waited the whole deadline in turn (60 s each, 128 s to start)."""
    from segdemo.zoo import load_zoo
    pin = {"repo_id": REPO, "revision": hub.old_sha, "sha256": sha256(hub.old["model.safetensors"])}
    zoo = tmp_path / "zoo.json"
    zoo.write_text(json.dumps({"fcn8s_lite": pin, "bayesian_segnet_lite": pin}))
    monkeypatch.setenv("SEGDEMO_ZOO", str(zoo))
    hub.hang(60, "lfs-objects")   # the probes' looks pass; every weights download stalls
    started = time.monotonic()
    try:
        models = load_zoo(device=torch.device("cpu"), cache_dir=tmp_path / "cache", endpoint=hub.url,
                          probe_timeout=2.0, deadline=3.0)
    finally:
        hub.reset()
    elapsed = time.monotonic() - started
    for model in models.values():
        assert is_bundled(model) and "did not answer in time" in model.describe(), model.describe()
    assert elapsed < 3.0 + 1.5, f"{elapsed:.1f} s to load both models with a 3 s deadline"


STARTS_AND_EXITS = """
import sys, time, torch
from segdemo.zoo import ZooEntry, load_model
endpoint, repo, revision, sha256, cache = sys.argv[1:]
started = time.monotonic()
model = load_model(ZooEntry("fcn8s_lite", "FCN-8s (lite)", "FCN", repo_id=repo, revision=revision, sha256=sha256),
                   torch.device("cpu"), cache_dir=cache, endpoint=endpoint, probe_timeout=30.0, deadline=1.0)
print(f"{time.monotonic() - started:.1f}", model.describe(), flush=True)
"""


def test_a_download_past_its_deadline_does_not_hold_the_app_s_exit(hub, tmp_path):
    """Past the deadline the app goes on with the bundled copy while the download may still run; it ran on a
    ThreadPoolExecutor, whose threads the interpreter joins at exit, so the process could not end until the
    download did (here a server that stalls for a minute)."""
    hub.hang(60, "model.safetensors", after=1)  # the probe's look passes; the download stalls
    args = [hub.url, REPO, hub.old_sha, sha256(hub.old["model.safetensors"]), str(tmp_path / "cache")]
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", STARTS_AND_EXITS, *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=45, env={**os.environ, "SEGDEMO_OFFLINE": "", "HF_HUB_OFFLINE": "0"})
    finally:
        hub.reset()
    exited_after = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    waited, reason = done.stdout.split(" ", 1)
    assert "bundled copy" in reason and "did not answer in time" in reason, reason
    assert float(waited) < 5, waited
    assert exited_after < float(waited) + 15, exited_after  # imports and a start, not the minute the server stalls


def test_a_download_cut_off_every_time_falls_back(hub, tmp_path):
    hub.truncate("model.safetensors", keep_bytes=1000)
    model = load(hub, tmp_path)
    assert is_bundled(model) and "cut off" in model.describe()
    assert not list((tmp_path / "cache").rglob("model.safetensors"))
    assert answers(model)


def test_a_download_cut_off_once_is_retried(hub, tmp_path):
    hub.truncate("model.safetensors", keep_bytes=1000, times=1)
    model = load(hub, tmp_path)
    assert model.source.endswith("downloaded")


def test_a_corrupt_download_fails_its_sha256_and_the_cache_heals(hub, tmp_path):
    hub.corrupt("model.safetensors", times=1)
    model = load(hub, tmp_path)
    assert is_bundled(model) and "failed its integrity check" in model.describe()
    assert answers(model)
    # huggingface_hub keeps the corrupt blob; the next start notices and downloads it again, and serves it: the line
    # said "(Hub copy not used: the cached copy is unusable: ...)" of the Hub copy it served
    model = load(hub, tmp_path)
    assert model.describe() == f"Hub {REPO}@{hub.old_sha[:7]}, downloaded again: the cached copy failed its check"
    assert not model.fallbacks and torch.equal(loaded_weights(model), weights_of(hub.old))
    assert answers(model)
    assert load(hub, tmp_path).source.endswith("from the local cache")  # healed


def test_a_wrong_pinned_sha256_is_refused(hub, tmp_path):
    model = load(hub, tmp_path, sha256="ab" * 32)
    assert is_bundled(model) and "failed its integrity check" in model.describe()


def test_a_checkpoint_of_another_architecture_is_refused(hub, tmp_path):
    torch.manual_seed(3)
    other = build("segnet_lite")
    folder = tmp_path / "other"
    save_checkpoint(other, make_config("segnet_lite", other, (90, 120)), folder)
    files = {n: (folder / n).read_bytes() for n in ("config.json", "model.safetensors")}
    sha = hub.add_commit(REPO, files, branch="other")
    model = load(hub, tmp_path, revision=sha, sha256=sha256(files["model.safetensors"]))
    assert is_bundled(model) and "not the expected fcn8s_lite" in model.describe()


def test_a_pickle_on_the_hub_is_never_loaded(hub, tmp_path):
    import pickle

    payload = pickle.dumps({"score_fr.weight": [1.0]})
    config = json.loads(hub.old["config.json"])
    sha = hub.add_commit(REPO, {"config.json": json.dumps(config).encode(), "model.safetensors": payload}, branch="evil")
    model = load(hub, tmp_path, revision=sha, sha256=sha256(payload))
    assert is_bundled(model) and "not a readable safetensors file" in model.describe()


def test_server_down_from_the_start_gives_the_bundled_copy_quickly(hub, tmp_path):
    hub.stop()
    started = time.monotonic()
    model = load(hub, tmp_path)
    assert time.monotonic() - started < 5
    assert is_bundled(model) and "could not be reached" in model.describe()
    assert answers(model)


def test_offline_switches(hub, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEMO_OFFLINE", "1")
    model = load(hub, tmp_path)
    assert is_bundled(model) and "SEGDEMO_OFFLINE=1" in model.describe() and hub.requests == []
    monkeypatch.delenv("SEGDEMO_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    model = load(hub, tmp_path)
    assert is_bundled(model) and "HF_HUB_OFFLINE=1" in model.describe()


def test_unpublished_entries_use_the_bundled_copy(hub, tmp_path):
    model = load(hub, tmp_path, revision=None)
    assert is_bundled(model) and "not published on the Hub yet" in model.describe()
    assert hub.requests == []


def commit_state(hub, state: dict[str, torch.Tensor], config: bytes | None = None, branch: str = "other") -> dict:
    """A commit of ``state`` (with the old commit's config.json unless given); the changes to pin it."""
    from safetensors.torch import save

    weights = save(state)
    sha = hub.add_commit(REPO, {"config.json": config or hub.old["config.json"], "model.safetensors": weights},
                         branch=branch)
    return {"revision": sha, "sha256": sha256(weights)}


def old_state(hub) -> dict[str, torch.Tensor]:
    from safetensors.torch import load

    return load(hub.old["model.safetensors"])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_cache_folder_that_cannot_be_written_is_named_as_such(hub, tmp_path, monkeypatch, code, caplog):
    """A full disk or a read-only cache was told to visitors as "the Hub could not be reached". The write that fails
    is injected where huggingface_hub writes the download (a full disk can't be made here, and root writes anyway)."""
    import huggingface_hub.file_download

    def write_fails(*args, **kwargs):
        raise OSError(code, os.strerror(code), str(tmp_path / "cache" / "blobs" / "x.incomplete"))

    monkeypatch.setattr(huggingface_hub.file_download, "http_get", write_fails)
    model = load(hub, tmp_path)
    reason = model.describe()
    assert is_bundled(model) and f"the Hub cache folder could not be written ({os.strerror(code).lower()})" in reason
    assert "could not be reached" not in reason and str(tmp_path) not in reason
    assert str(tmp_path) in caplog.text  # the server's log has the path
    assert answers(model)


def test_network_oserrors_are_still_the_hub_unreachable():
    from segdemo.hub import _describe

    for error in (ConnectionResetError(errno.ECONNRESET, "reset"), ConnectionRefusedError(errno.ECONNREFUSED, "no"),
                  socket.gaierror(-2, "Name or service not known"), OSError(errno.ENETUNREACH, "unreachable")):
        assert _describe(error, REPO, "0" * 40) == "the Hub could not be reached", error
    assert _describe(PermissionError(errno.EACCES, "Permission denied", "/x"), REPO, "0" * 40) == \
        "the Hub cache folder could not be written (permission denied)"


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/1", "short"])
def test_a_revision_that_is_not_a_commit_is_refused(hub, tmp_path, revision):
    """A branch was resolved from the local cache forever once cached: the branch's new commits never came."""
    revision = hub.old_sha[:7] if revision == "short" else revision
    model = load(hub, tmp_path, revision=revision)
    reason = model.describe()
    assert is_bundled(model) and f"revision {revision!r} is not a commit sha: pin a commit" in reason, reason
    assert hub.requests == []
    assert answers(model)


class GatedHub(HubServer):
    """The Hub's answer to a gated repo whose terms the token's account has not accepted (or no token)."""

    status = 401

    def _handle_hub(self, handler, method, raw_path):
        if f"/{REPO}/resolve/" in raw_path:
            error = {"error": f"Access to model {REPO} is restricted. You must have access to it."}
            return self._send_json(handler, method, self.status, error, error_code="GatedRepo")
        return super()._handle_hub(handler, method, raw_path)


@pytest.mark.parametrize("status", [401, 403])
def test_a_gated_repo_is_named_gated_with_what_to_do(tmp_path, status):
    """It was "the Hub has no model repo X (or it is private)": GatedRepoError is a RepositoryNotFoundError."""
    server = GatedHub()
    server.status = status
    with server:
        sha = server.add_commit(REPO, checkpoint_files(tmp_path, 1))
        gated = ZooEntry("fcn8s_lite", "FCN-8s (lite)", "FCN", repo_id=REPO, revision=sha)
        model = load_model(gated, torch.device("cpu"), cache_dir=tmp_path / "cache", endpoint=server.url,
                           probe_timeout=2.0, deadline=20.0)
    reason = model.describe()
    assert is_bundled(model) and f"{REPO} is a gated repo: accept its terms on the Hub, then set HF_TOKEN" in reason
    assert "has no model repo" not in reason


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_read_says_to_set_hf_token(hub, tmp_path, status):
    hub.fail(status)
    model = load(hub, tmp_path)
    reason = model.describe()
    assert is_bundled(model) and f"answered with an error ({status}): set HF_TOKEN to a token that may read {REPO}" \
        in reason, reason


def test_a_401_repo_not_found_says_to_set_hf_token():
    """The real Hub (https) answers 401 for a private or missing repo to a client without a token."""
    from huggingface_hub.errors import RepositoryNotFoundError

    from segdemo.hub import _describe

    url = f"https://huggingface.co/{REPO}/resolve/{'0' * 40}/config.json"
    for status, said in ((401, "or it is private: set HF_TOKEN"), (404, "(or it is private)")):
        response = httpx.Response(status, request=httpx.Request("HEAD", url))
        reason = _describe(RepositoryNotFoundError("not found", response=response), REPO, "0" * 40)
        assert reason.startswith(f"the Hub has no model repo {REPO}") and said in reason, reason


def test_weights_that_do_not_fit_are_named_without_the_server_s_path(hub, tmp_path):
    """The line had the cache's snapshot path and torch's many-line "Error(s) in loading state_dict" text."""
    state = old_state(hub)
    state["evil"] = torch.zeros(3)
    model = load(hub, tmp_path, **commit_state(hub, state))
    reason = model.describe()
    assert is_bundled(model) and "its weights do not fit a fcn8s_lite model: 1 unexpected tensor (evil)" in reason
    assert str(tmp_path) not in reason and "snapshots" not in reason and "\n" not in reason and "state_dict" not in reason


def test_weights_with_nan_on_the_hub_are_refused(hub, tmp_path):
    state = old_state(hub)
    state["score_fr.weight"][0, 0, 0, 0] = float("nan")
    model = load(hub, tmp_path, **commit_state(hub, state))
    assert is_bundled(model) and "model.safetensors holds NaN or infinite values in 1 tensor (the first: score_fr.weight)" \
        in model.describe()


def test_a_config_json_too_big_is_refused_before_its_download(hub, tmp_path):
    """A 60 MB config.json was downloaded and read whole; the probe gives its size first."""
    from segdemo.checkpoints import MAX_CONFIG_BYTES

    config = json.loads(hub.old["config.json"])
    config["padding"] = "x" * (2 * MAX_CONFIG_BYTES)
    pin = commit_state(hub, old_state(hub), json.dumps(config).encode())
    hub.requests.clear()
    model = load(hub, tmp_path, **pin)
    assert is_bundled(model) and f"{REPO}@{pin['revision'][:12]} has a config.json of 2.1 MB, more than the 1024 kB" \
        in model.describe()
    assert not [path for method, path in hub.requests if method == "GET" and "config.json" in path]
    assert answers(model)
