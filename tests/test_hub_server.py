"""Real huggingface_hub (2.4, unmodified) against the local Hub-protocol server in hub_server.py.

These tests pin down what huggingface_hub actually does on each kind of fault, so that the project's
own download code can rely on it (or know where it must not):

* 404s raise RepositoryNotFoundError / RevisionNotFoundError / RemoteEntryNotFoundError after one HEAD.
* 5xx, timeouts and refused connections on the metadata HEAD fall back to the cached file right away
  when there is one; when there is none, hf_hub_download retries the HEAD 5 more times with
  1+2+4+8+8 s of backoff (~23 s) and a hard-coded 60 s timeout, then raises LocalEntryNotFoundError.
* A torn body is retried up to 5 times, 1 s apart. It resumes with Range only from the last complete
  10 MiB chunk (constants.DOWNLOAD_CHUNK_SIZE): smaller files restart from byte 0. A body of the right
  length but wrong content is NOT detected: huggingface_hub does not check the sha256 of plain-HTTP
  downloads.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, constants, get_hf_file_metadata, hf_hub_download, hf_hub_url, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from conftest import ROOT
from hub_server import HubServer

REPO = "acme/segnet-tiny"
CONFIG = b'{"architecture": "segnet_lite", "num_classes": 11}\n'
WEIGHTS = bytes(range(256)) * 64  # 16 KiB, served as an LFS file
WEIGHTS_V2 = bytes(reversed(range(256))) * 64
KEEP = 4096  # bytes served before a torn connection


def git_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def hub():
    with HubServer() as server:
        server.add_commit(REPO, {"config.json": CONFIG, "model.safetensors": WEIGHTS}, tag="v1")
        yield server


class RecordedSleeps:
    """huggingface_hub's ``time`` with ``sleep`` recorded instead of slept: its backoff, measured without the wait."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __getattr__(self, name: str):
        return getattr(time, name)


@pytest.fixture
def backoff(monkeypatch) -> RecordedSleeps:
    """The seconds huggingface_hub's retries would have slept (``utils._http.http_backoff``'s only waits)."""
    import huggingface_hub.utils._http as hub_http

    recorded = RecordedSleeps()
    monkeypatch.setattr(hub_http, "time", recorded)
    return recorded


def download(server: HubServer, cache_dir: Path, filename: str = "model.safetensors", **kwargs) -> str:
    return hf_hub_download(REPO, filename, endpoint=server.url, cache_dir=cache_dir, **kwargs)


def storage(cache_dir: Path) -> Path:
    return cache_dir / ("models--" + REPO.replace("/", "--"))


def count(server: HubServer, method: str, path_contains: str = "") -> int:
    return sum(1 for m, p in server.requests if m == method and path_contains in p)


# ---------------------------------------------------------------------------------------------- happy path


def test_download_regular_and_lfs_files_at_main(hub, tmp_path):
    commit = hub.add_commit(REPO, {})  # an empty commit on top: main moves, files stay
    config_path = download(hub, tmp_path, "config.json", revision="main")
    weights_path = download(hub, tmp_path, "model.safetensors", revision="main")

    assert Path(config_path).read_bytes() == CONFIG
    assert Path(weights_path).read_bytes() == WEIGHTS
    snapshot = storage(tmp_path) / "snapshots" / commit
    assert Path(config_path) == snapshot / "config.json"
    assert Path(weights_path) == snapshot / "model.safetensors"
    # Blobs are named by the advertised etag: git sha1 for regular files, sha256 for LFS files.
    assert Path(config_path).resolve() == storage(tmp_path) / "blobs" / git_sha1(CONFIG)
    assert Path(weights_path).resolve() == storage(tmp_path) / "blobs" / sha256(WEIGHTS)
    assert (storage(tmp_path) / "refs" / "main").read_text() == commit
    assert hub.requests == [
        ("HEAD", f"/{REPO}/resolve/main/config.json"),
        ("GET", f"/{REPO}/resolve/main/config.json"),
        ("HEAD", f"/{REPO}/resolve/main/model.safetensors"),
        ("GET", f"/lfs-objects/{sha256(WEIGHTS)}?filename=model.safetensors"),
    ]


def test_resolve_headers_redirect_and_ranges(hub):
    commit = hub.add_commit(REPO, {})
    regular = get_hf_file_metadata(hf_hub_url(REPO, "config.json", endpoint=hub.url))
    assert (regular.commit_hash, regular.etag, regular.size) == (commit, git_sha1(CONFIG), len(CONFIG))
    assert regular.location == f"{hub.url}/{REPO}/resolve/main/config.json"

    lfs = get_hf_file_metadata(hf_hub_url(REPO, "model.safetensors", endpoint=hub.url))
    assert (lfs.commit_hash, lfs.etag, lfs.size) == (commit, sha256(WEIGHTS), len(WEIGHTS))
    assert lfs.location.startswith(f"{hub.cdn_url}/lfs-objects/{sha256(WEIGHTS)}")

    head = httpx2.head(f"{hub.url}/{REPO}/resolve/main/model.safetensors", follow_redirects=False)
    assert head.status_code == 302
    assert head.headers["X-Repo-Commit"] == commit
    assert head.headers["X-Linked-Etag"] == f'"{sha256(WEIGHTS)}"'
    assert head.headers["X-Linked-Size"] == str(len(WEIGHTS))

    partial = httpx2.get(lfs.location, headers={"Range": "bytes=100-"})
    assert partial.status_code == 206
    assert partial.headers["Content-Range"] == f"bytes 100-{len(WEIGHTS) - 1}/{len(WEIGHTS)}"
    assert partial.content == WEIGHTS[100:]
    assert httpx2.get(lfs.location, headers={"Range": "bytes=10-19"}).content == WEIGHTS[10:20]
    assert httpx2.get(lfs.location, headers={"Range": "bytes=-5"}).content == WEIGHTS[-5:]
    assert httpx2.get(lfs.location, headers={"Range": f"bytes={len(WEIGHTS)}-"}).status_code == 416


def test_pinned_commit_tag_and_branch(hub, tmp_path):
    first = hub.add_commit(REPO, {}, tag="v1")
    second = hub.add_commit(REPO, {"model.safetensors": WEIGHTS_V2})
    assert first != second and len(second) == 40

    assert Path(download(hub, tmp_path, revision=first)).read_bytes() == WEIGHTS
    assert Path(download(hub, tmp_path, revision="v1")).read_bytes() == WEIGHTS
    latest = download(hub, tmp_path, revision="main")
    assert Path(latest).read_bytes() == WEIGHTS_V2
    assert Path(latest).parent.name == second
    # config.json was not touched by the second commit: it is still there, at both commits.
    assert Path(download(hub, tmp_path, "config.json", revision=second)).read_bytes() == CONFIG
    assert (storage(tmp_path) / "refs" / "main").read_text() == second
    assert (storage(tmp_path) / "refs" / "v1").read_text() == first


def test_quoted_pull_request_revision(hub, tmp_path):
    pr = hub.add_commit(REPO, {"model.safetensors": WEIGHTS_V2}, branch="refs/pr/1")
    path = download(hub, tmp_path, revision="refs/pr/1")
    assert Path(path).read_bytes() == WEIGHTS_V2
    assert ("HEAD", f"/{REPO}/resolve/refs%2Fpr%2F1/model.safetensors") in hub.requests
    assert HfApi(endpoint=hub.url).model_info(REPO, revision="refs/pr/1").sha == pr
    assert Path(download(hub, tmp_path, revision="main")).read_bytes() == WEIGHTS  # main did not move


def test_model_info_refs_and_snapshot_download(hub, tmp_path):
    first = hub.add_commit(REPO, {}, tag="v1")
    second = hub.add_commit(REPO, {"nested/extra.json": b"{}"})
    api = HfApi(endpoint=hub.url)

    info = api.model_info(REPO)
    assert (info.id, info.sha) == (REPO, second)
    assert sorted(s.rfilename for s in info.siblings) == ["config.json", "model.safetensors", "nested/extra.json"]
    assert api.model_info(REPO, revision="v1").sha == first
    assert api.repo_info(REPO, revision=first).sha == first
    refs = api.list_repo_refs(REPO)
    assert [(b.name, b.target_commit) for b in refs.branches] == [("main", second)]
    assert [(t.name, t.target_commit) for t in refs.tags] == [("v1", first)]

    folder = Path(snapshot_download(REPO, endpoint=hub.url, cache_dir=tmp_path))
    assert folder == storage(tmp_path) / "snapshots" / second
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert (folder / "nested" / "extra.json").read_bytes() == b"{}"
    old = Path(snapshot_download(REPO, revision="v1", endpoint=hub.url, cache_dir=tmp_path))
    assert sorted(p.name for p in old.iterdir()) == ["config.json", "model.safetensors"]


# ---------------------------------------------------------------------------------------------- cache


def test_cached_file_needs_no_server(hub, tmp_path):
    path = download(hub, tmp_path)
    commit = Path(path).parent.name
    before = len(hub.requests)

    # A full commit sha that is cached short-cuts everything: no request, even with the server up.
    assert download(hub, tmp_path, revision=commit) == path
    assert len(hub.requests) == before

    hub.stop()
    start = time.monotonic()
    assert download(hub, tmp_path, local_files_only=True) == path
    assert download(hub, tmp_path, revision=commit) == path
    # "main" with the server down: the HEAD is refused, no retry because a cached file exists.
    assert download(hub, tmp_path, revision="main") == path
    assert time.monotonic() - start < 3
    assert len(hub.requests) == before


def test_restart_on_the_same_port(hub, tmp_path):
    url = hub.url
    hub.stop()
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"{url}/api/models/{REPO}")
    hub.start()
    assert hub.url == url
    assert Path(download(hub, tmp_path)).read_bytes() == WEIGHTS
    hub.stop()
    hub.start()
    assert Path(download(hub, tmp_path, "config.json")).read_bytes() == CONFIG


def test_first_start_takes_the_port_the_kernel_gives_not_one_picked_earlier(tmp_path):
    """A port picked before start() can be taken in between (CI once failed with EADDRINUSE that way)."""
    server = HubServer()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", server.port))
        squatter.listen()
        with server:
            assert server.port != squatter.getsockname()[1]
            assert len({server.port, server.cdn_port}) == 2
            server.add_commit(REPO, {"config.json": CONFIG, "model.safetensors": WEIGHTS})
            assert Path(download(server, tmp_path)).read_bytes() == WEIGHTS


# ---------------------------------------------------------------------------------------------- 404s


@pytest.mark.parametrize(
    ("repo_id", "revision", "filename", "error"),
    [
        ("acme/missing", "main", "config.json", RepositoryNotFoundError),
        (REPO, "no-such-branch", "config.json", RevisionNotFoundError),
        (REPO, "main", "missing.json", RemoteEntryNotFoundError),
    ],
)
def test_not_found_errors(hub, tmp_path, repo_id, revision, filename, error):
    start = time.monotonic()
    with pytest.raises(error) as caught:
        hf_hub_download(repo_id, filename, revision=revision, endpoint=hub.url, cache_dir=tmp_path)
    assert time.monotonic() - start < 3
    assert isinstance(caught.value, HfHubHTTPError) and caught.value.response.status_code == 404
    assert hub.requests == [("HEAD", f"/{repo_id}/resolve/{revision}/{filename}")]  # no retry on 404


def test_missing_file_is_also_an_entry_not_found_error_and_cached_as_such(hub, tmp_path):
    commit = hub.add_commit(REPO, {})
    with pytest.raises(EntryNotFoundError):
        download(hub, tmp_path, "missing.json")
    assert (storage(tmp_path) / ".no_exist" / commit / "missing.json").exists()


def test_not_found_errors_from_the_api(hub):
    api = HfApi(endpoint=hub.url)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("acme/missing")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(REPO, revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_refs("acme/missing")


# ---------------------------------------------------------------------------------------------- 5xx


def test_server_error_500(hub, tmp_path):
    url = hf_hub_url(REPO, "config.json", endpoint=hub.url)
    path = download(hub, tmp_path, "config.json")
    hub.requests.clear()
    hub.fail(500)

    # Lower-level calls do not retry: one request, HfHubHTTPError at once.
    with pytest.raises(HfHubHTTPError) as caught:
        get_hf_file_metadata(url)
    assert caught.value.response.status_code == 500
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=hub.url).model_info(REPO)
    assert caught.value.response.status_code == 500
    assert len(hub.requests) == 2

    # hf_hub_download with the file cached: one HEAD, then the cached path, no error.
    start = time.monotonic()
    assert download(hub, tmp_path, "config.json") == path
    assert time.monotonic() - start < 3
    assert len(hub.requests) == 3


def test_transient_500_without_cache_is_retried(hub, tmp_path):
    """First HEAD (no retry) fails, then a second round with backoff: attempt 1 fails, sleep 1 s, attempt 2 wins."""
    hub.fail(500, "/resolve/", times=2)
    start = time.monotonic()
    assert Path(download(hub, tmp_path)).read_bytes() == WEIGHTS
    assert 0.9 < time.monotonic() - start < 5
    assert count(hub, "HEAD") == 3


def test_persistent_500_without_cache_waits_23_seconds(hub, tmp_path, backoff):
    """1 HEAD, then 1 + 5 retried HEADs with 1+2+4+8+8 s of backoff, then LocalEntryNotFoundError: 23 s of
    waiting, recorded here rather than slept (the test took 23 s when it slept them)."""
    hub.fail(503)
    start = time.monotonic()
    with pytest.raises(LocalEntryNotFoundError) as caught:
        download(hub, tmp_path)
    assert isinstance(caught.value.__cause__, HfHubHTTPError)
    assert caught.value.__cause__.response.status_code == 503
    assert count(hub, "HEAD") == 7
    assert backoff.sleeps == [1, 2, 4, 8, 8]
    assert time.monotonic() - start < 5  # the rest: the requests themselves


# ---------------------------------------------------------------------------------------------- hangs


def test_hanging_head_times_out(hub):
    hub.hang(30)
    start = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):
        get_hf_file_metadata(hf_hub_url(REPO, "config.json", endpoint=hub.url), timeout=0.5)
    assert time.monotonic() - start < 3


def test_hanging_head_with_cache_falls_back_after_etag_timeout(hub, tmp_path):
    path = download(hub, tmp_path)
    hub.hang(30)
    start = time.monotonic()
    assert download(hub, tmp_path, etag_timeout=0.5) == path
    assert time.monotonic() - start < 3


def test_etag_timeout_does_not_bound_a_first_download(hub, tmp_path):
    """Without a cached file, a timed-out HEAD is retried with a hard-coded 60 s timeout
    (file_download._ETAG_RETRY_TIMEOUT): a server 1.5 s slow still serves the file."""
    hub.hang(1.5, "/resolve/")
    start = time.monotonic()
    assert Path(download(hub, tmp_path, etag_timeout=0.5)).read_bytes() == WEIGHTS
    assert time.monotonic() - start > 1.9  # 0.5 s (timed out) + 1.5 s (waited for)
    assert count(hub, "HEAD") == 2


def test_env_knobs_hf_endpoint_and_etag_timeout_in_a_subprocess(hub, tmp_path):
    """HF_ENDPOINT replaces endpoint=; HF_HUB_ETAG_TIMEOUT (whole seconds) overrides the etag_timeout argument.

    Both are read when huggingface_hub.constants is imported, hence the subprocess."""
    path = download(hub, tmp_path, "config.json")
    hub.hang(30)
    script = textwrap.dedent(
        f"""
        import time
        from huggingface_hub import hf_hub_download
        start = time.monotonic()
        path = hf_hub_download({REPO!r}, "config.json", etag_timeout=30)
        print(path)
        print(time.monotonic() - start)
        """
    )
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(tmp_path),
        "HF_HUB_ETAG_TIMEOUT": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    env.pop("HF_HUB_OFFLINE", None)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    printed_path, elapsed = result.stdout.split()
    assert printed_path == path
    assert 0.9 < float(elapsed) < 5  # 1 s (env), not 30 s (argument)
    assert ("HEAD", f"/{REPO}/resolve/main/config.json") in hub.requests[-1:]


# ---------------------------------------------------------------------------------------------- torn / corrupt bodies


def get_headers(server: HubServer) -> list[dict[str, str]]:
    return [headers for (method, _), headers in zip(server.requests, server.request_headers) if method == "GET"]


def test_torn_small_download_is_retried_from_the_start(hub, tmp_path):
    """http_get writes the body in 10 MiB chunks (iter_bytes buffers a whole chunk): the 4 KiB received
    before the tear never reach the file, so the retry asks for the whole file again, without Range."""
    hub.truncate("model.safetensors", KEEP, times=1)
    start = time.monotonic()
    assert Path(download(hub, tmp_path)).read_bytes() == WEIGHTS
    assert time.monotonic() - start < 5  # one 1 s pause before retrying
    gets = get_headers(hub)
    assert len(gets) == 2 and "range" not in gets[0] and "range" not in gets[1]


def test_torn_large_download_is_resumed_with_range(hub, tmp_path):
    """Past a complete 10 MiB chunk, the retry resumes with Range from that chunk's end (answered 206)."""
    chunk = 10 * 1024 * 1024
    big = hashlib.sha256(b"seed").digest() * (3 * chunk // 32)  # 30 MiB
    hub.add_commit(REPO, {"big.safetensors": big})
    hub.truncate("big.safetensors", chunk + 12345, times=1)
    assert Path(download(hub, tmp_path, "big.safetensors")).read_bytes() == big
    gets = get_headers(hub)
    assert len(gets) == 2 and "range" not in gets[0]
    assert gets[1]["range"] == f"bytes={chunk}-"


def test_persistently_torn_download_raises_and_caches_nothing(hub, tmp_path):
    """5 retries 1 s apart (each restarts from byte 0 and is torn again; none completes a 10 MiB chunk,
    so the retry budget is never refilled), then the raw httpx2.RemoteProtocolError (not an HF error).

    Nothing complete-looking is left: no blob, no snapshot entry, no .incomplete file. But refs/main is
    written (before the download starts), and an empty snapshots/<commit>/ folder is created."""
    hub.truncate("model.safetensors", KEEP)
    start = time.monotonic()
    with pytest.raises(httpx2.RemoteProtocolError):
        download(hub, tmp_path)
    assert 4 < time.monotonic() - start < 15
    assert count(hub, "GET") == 6
    repo = storage(tmp_path)
    assert list((repo / "blobs").iterdir()) == []
    commit = (repo / "refs" / "main").read_text()
    assert list((repo / "snapshots" / commit).iterdir()) == []

    hub.reset()
    assert Path(download(hub, tmp_path)).read_bytes() == WEIGHTS


def test_corrupt_download_is_not_detected(hub, tmp_path):
    """huggingface_hub 2.4 checks only the size of a plain-HTTP download, never its sha256.

    A body of the right length but wrong content is stored as blobs/<advertised sha256> and returned
    as if it were fine; later calls keep returning it (the blob exists, so only a HEAD is made) until
    force_download=True. Our own loading code must verify the sha256 itself."""
    hub.corrupt("model.safetensors")
    path = Path(download(hub, tmp_path))
    content = path.read_bytes()
    assert len(content) == len(WEIGHTS) and content != WEIGHTS
    assert path.resolve().name == sha256(WEIGHTS) != sha256(content)

    hub.reset()
    hub.requests.clear()
    assert Path(download(hub, tmp_path)).read_bytes() == content  # still the corrupt bytes
    assert [m for m, _ in hub.requests] == ["HEAD"]
    assert Path(download(hub, tmp_path, force_download=True)).read_bytes() == WEIGHTS


# ---------------------------------------------------------------------------------------------- no server at all


def test_connection_refused_fails_fast_only_without_retries(tmp_path):
    server = HubServer()  # never started: its port refuses connections
    server.add_commit(REPO, {"config.json": CONFIG})
    start = time.monotonic()
    with pytest.raises(httpx2.ConnectError):
        get_hf_file_metadata(hf_hub_url(REPO, "config.json", endpoint=server.url))
    with pytest.raises(httpx2.ConnectError):
        HfApi(endpoint=server.url).model_info(REPO)
    with pytest.raises(LocalEntryNotFoundError):
        download(server, tmp_path, "config.json", local_files_only=True)
    assert time.monotonic() - start < 3


def test_connection_refused_without_cache_waits_23_seconds(tmp_path, backoff):
    """hf_hub_download retries a refused HEAD 5 times (1+2+4+8+8 s backoff) before LocalEntryNotFoundError: 23 s
    of waiting, recorded here rather than slept."""
    server = HubServer()
    start = time.monotonic()
    with pytest.raises(LocalEntryNotFoundError) as caught:
        download(server, tmp_path, "config.json")
    assert isinstance(caught.value.__cause__, httpx2.ConnectError)
    assert backoff.sleeps == [1, 2, 4, 8, 8]
    assert time.monotonic() - start < 5


def test_request_log_is_json_friendly(hub):
    """The log is plain data: (method, raw path) pairs, headers with lower-case names."""
    httpx2.get(f"{hub.url}/api/models/{REPO}", headers={"X-Test": "1"})
    assert hub.requests[-1] == ("GET", f"/api/models/{REPO}")
    assert hub.request_headers[-1]["x-test"] == "1"
    json.dumps([hub.requests, hub.request_headers])


# ---------------------------------------------------------------------------------------------- uploads
# What segdemo.publish and segdemo.deploy send: create_repo, then upload_folder's preupload, LFS batch, PUT,
# verify and NDJSON commit. hf_xet, installed beside huggingface_hub, would send LFS files to a Xet
# storage server instead; this server is none, so these tests take the LFS path the client keeps for
# clients without hf_xet (HF_HUB_DISABLE_XET).

TOKEN = "hf_local_test_token"


@pytest.fixture
def uploads(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    with HubServer() as server:
        yield server, HfApi(endpoint=server.url, token=TOKEN)


def test_what_upload_folder_sends_is_what_downloads_get_back(uploads, tmp_path):
    server, api = uploads
    url = api.create_repo("acme/uploaded", exist_ok=True)
    assert url == f"{server.url}/acme/uploaded"
    assert set(server.files("acme/uploaded")) == {".gitattributes"}  # a new repo holds the Hub's .gitattributes
    folder = tmp_path / "folder"
    (folder / "docs").mkdir(parents=True)
    sent = {"config.json": CONFIG, "model.safetensors": WEIGHTS, "README.md": b"---\nlicense: mit\n---\n# A card\n",
            "docs/picture.png": b"\x89PNG\r\n\x1a\n\0" + WEIGHTS[:999]}
    for name, content in sent.items():
        (folder / name).write_bytes(content)
    commit = api.upload_folder(repo_id="acme/uploaded", folder_path=folder, commit_message="Upload")

    assert server.commits("acme/uploaded") == ["Upload", "initial commit"]
    assert {k: v for k, v in server.files("acme/uploaded").items() if k != ".gitattributes"} == sent
    # to LFS by .gitattributes, and by content
    assert server.lfs_files("acme/uploaded") == {"model.safetensors", "docs/picture.png"}
    assert count(server, "PUT", "/lfs-upload/") == 2 and count(server, "POST", "/objects/verify") == 2
    for name, content in sent.items():
        path = hf_hub_download("acme/uploaded", name, revision=commit.oid, endpoint=server.url,
                               cache_dir=tmp_path / "c")
        assert Path(path).read_bytes() == content
    assert sorted(api.list_repo_files("acme/uploaded")) == sorted([".gitattributes", *sent])

    again = api.upload_folder(repo_id="acme/uploaded", folder_path=folder, commit_message="Again")
    assert again.oid == commit.oid and count(server, "PUT", "/lfs-upload/") == 2  # nothing changed: no commit, no bytes


def test_spaces_deletions_and_refusals(uploads, tmp_path):
    server, api = uploads
    api.create_repo("acme/demo", repo_type="space", space_sdk="gradio")
    assert server.files("acme/demo", repo_type="space")["README.md"].startswith(b"---\ntitle: demo\nsdk: gradio\n")
    with pytest.raises(HfHubHTTPError, match="409"):
        api.create_repo("acme/demo", repo_type="space", space_sdk="gradio")
    api.upload_file(path_or_fileobj=b"print('hi')\n", path_in_repo="old/app.py", repo_id="acme/demo", repo_type="space")
    first = api.space_info("acme/demo").sha
    api.delete_folder("old", repo_id="acme/demo", repo_type="space")
    assert "old/app.py" not in server.files("acme/demo", repo_type="space")
    assert api.space_info("acme/demo").sdk == "gradio"
    with pytest.raises(RemoteEntryNotFoundError):
        api.delete_file("nothing.py", repo_id="acme/demo", repo_type="space")
    with pytest.raises(HfHubHTTPError, match="412"):  # someone committed since the parent the caller saw
        api.upload_file(path_or_fileobj=b"x = 1\n", path_in_repo="x.py", repo_id="acme/demo", repo_type="space",
                        parent_commit=first)
    with pytest.raises(HfHubHTTPError, match="401"):  # writes need a token
        HfApi(endpoint=server.url, token=False).upload_file(path_or_fileobj=b"x", path_in_repo="x.py",
                                                            repo_id="acme/demo", repo_type="space")
    inline_binary = [{"key": "header", "value": {"summary": "sneak"}},
                     {"key": "file", "value": {"path": "w.bin", "content": base64.b64encode(b"\0\1\2").decode(),
                                               "encoding": "base64"}}]
    never_uploaded = [inline_binary[0],
                      {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": "0" * 64}}]
    for lines, status in ((inline_binary, 400), (never_uploaded, 422)):
        response = httpx2.post(f"{server.url}/api/spaces/acme/demo/commit/main",
                               headers={"Authorization": f"Bearer {TOKEN}"},
                               content=b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        assert response.status_code == status
    assert "w.bin" not in server.files("acme/demo", repo_type="space")  # a refused commit changes nothing


def test_with_hf_xet_the_client_asks_for_xet_storage_and_fails_at_once(tmp_path):
    """This server has no Xet storage: an LFS upload with hf_xet enabled stops at the token request."""
    (tmp_path / "w.safetensors").write_bytes(WEIGHTS)
    with HubServer() as server:
        api = HfApi(endpoint=server.url, token=TOKEN)
        api.create_repo("acme/xet")
        with pytest.raises(Exception, match="xet-write-token"):
            api.upload_folder(repo_id="acme/xet", folder_path=tmp_path)
        assert server.commits("acme/xet") == ["initial commit"]
