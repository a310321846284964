"""The real app fetching its checkpoints from the local Hub server: what it says, and that it keeps answering."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, start_app, stop_app
from gradio_client import Client, handle_file
from hub_server import HubServer

from segdemo.hub import sha256_of

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f01290.jpg")
NAMES = ("bayesian_segnet_lite", "fcn8s_lite")


def weights_line(url: str, model: str) -> str:
    client = Client(url, verbose=False)
    info = client.predict(handle_file(EXAMPLE), model, 0.5, 2, 0, api_name="/segment")[6]
    return next(line for line in info.split("\n") if line.startswith("Weights:"))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    server = HubServer().start()
    zoo = {}
    for name in NAMES:
        folder = ROOT / "weights" / name
        files = {f: (folder / f).read_bytes() for f in ("config.json", "model.safetensors")}
        sha = server.add_commit(f"tester/{name}", files)
        zoo[name] = {"repo_id": f"tester/{name}", "revision": sha, "sha256": sha256_of(folder / "model.safetensors")}
    zoo_file = tmp_path_factory.mktemp("zoo") / "zoo.json"
    zoo_file.write_text(json.dumps(zoo))
    yield server, zoo_file, zoo
    server.stop()


def env(server, zoo_file, cache) -> dict[str, str]:
    return {"HF_ENDPOINT": server.url, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "0", "SEGDEMO_ZOO": str(zoo_file)}


def test_download_then_cache_then_unreachable_hub(published, tmp_path):
    server, zoo_file, zoo = published
    cache = tmp_path / "hub-cache"
    process, url, _ = start_app(env(server, zoo_file, cache))
    try:
        sha = zoo["fcn8s_lite"]["revision"][:7]
        assert weights_line(url, "fcn8s_lite") == f"Weights: Hub tester/fcn8s_lite@{sha}, downloaded."
        server.stop()  # the Hub goes away mid-session: what is loaded keeps serving
        assert "downloaded" in weights_line(url, "bayesian_segnet_lite")
    finally:
        stop_app(process)
        server.start()

    server.stop()  # a second start with the server stopped loads from the cache
    process, url, _ = start_app(env(server, zoo_file, cache))
    try:
        assert weights_line(url, "fcn8s_lite").endswith("from the local cache.")
    finally:
        stop_app(process)
        server.start()


def test_server_down_from_the_start_serves_the_bundled_copy(published, tmp_path):
    server, zoo_file, _ = published
    server.stop()
    process, url, log = start_app(env(server, zoo_file, tmp_path / "empty-cache"))
    try:
        line = weights_line(url, "bayesian_segnet_lite")
        assert line.startswith("Weights: bundled copy in weights/bayesian_segnet_lite")
        assert "the Hub could not be reached" in line
        assert "the Hub could not be reached" in log.read_text()  # and the logs say so too
    finally:
        stop_app(process)
        server.start()
