"""The real app fetching its checkpoints, as segdemo.publish put them on the local Hub server.

What it says about where its weights came from, and that it keeps answering when the Hub goes away."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, start_app, stop_app
from gradio_client import Client, handle_file
from huggingface_hub import HfApi, constants
from hub_server import HubServer

from segdemo.hub import sha256_of
from segdemo.publish import publish

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f01290.jpg")
NAMES = ("bayesian_segnet_lite", "fcn8s_lite")


def weights_line(url: str, model: str) -> str:
    client = Client(url, verbose=False)
    info = client.predict(handle_file(EXAMPLE), model, 0.5, 2, 0, api_name="/segment")[6]
    return next(line for line in info.split("\n") if line.startswith("Weights:"))


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Both bundled checkpoints published to the local Hub by segdemo.publish, pinned as it prints them."""
    server = HubServer().start()
    zoo = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the server speaks LFS, not Xet (hub_server.py)
        api = HfApi(endpoint=server.url, token="hf_local_test_token")
        for name in NAMES:
            zoo.update(publish(api, name, f"tester/{name}"))
    for name in NAMES:
        assert zoo[name]["sha256"] == sha256_of(ROOT / "weights" / name / "model.safetensors")
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
