"""Checkpoints that break under a running app, or before it starts: clear messages, the rest keeps serving."""

from __future__ import annotations

import pickle
import shutil

import pytest
from conftest import ROOT, start_app, stop_app
from gradio_client import Client, handle_file

EXAMPLE = str(ROOT / "examples" / "camvid_0016E5_07959.jpg")


def segment(client, model):
    return client.predict(handle_file(EXAMPLE), model, 0.5, 2, 0, api_name="/segment")


@pytest.fixture
def weights(tmp_path):
    copy = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", copy)
    return copy


def break_checkpoints(weights) -> None:
    shutil.rmtree(weights / "fcn8s_lite")  # deleted
    (weights / "bayesian_segnet_lite" / "model.safetensors").write_bytes(pickle.dumps({"weights": 1}))  # a pickle


def test_files_broken_while_the_app_runs_do_not_stop_it(weights):
    process, url, _ = start_app({"SEGDEMO_WEIGHTS": str(weights), "SEGDEMO_OFFLINE": "1"})
    try:
        client = Client(url, verbose=False)
        assert segment(client, "fcn8s_lite")[7]["output_size"] == [480, 360]
        break_checkpoints(weights)
        # models are loaded once at start: what is in memory keeps serving (the documented behaviour)
        for model in ("fcn8s_lite", "bayesian_segnet_lite"):
            assert segment(client, model)[7]["output_size"] == [480, 360]
        assert process.poll() is None
    finally:
        stop_app(process)


def test_broken_files_at_start_give_clear_messages_and_the_app_still_serves(weights):
    shutil.rmtree(weights / "fcn8s_lite")
    process, url, log = start_app({"SEGDEMO_WEIGHTS": str(weights), "SEGDEMO_OFFLINE": "1"})
    try:
        client = Client(url, verbose=False)
        with pytest.raises(Exception) as error:
            segment(client, "fcn8s_lite")
        assert "FCN-8s (lite) is not available right now" in str(error.value)
        assert "config.json is missing" in str(error.value)
        assert segment(client, "bayesian_segnet_lite")[7]["output_size"] == [480, 360]  # the other model serves
        assert "could not be loaded" in log.read_text()
    finally:
        stop_app(process)


def test_a_pickle_planted_as_model_safetensors_is_refused_at_start(weights):
    (weights / "bayesian_segnet_lite" / "model.safetensors").write_bytes(pickle.dumps({"weights": 1}))
    process, url, _ = start_app({"SEGDEMO_WEIGHTS": str(weights), "SEGDEMO_OFFLINE": "1"})
    try:
        client = Client(url, verbose=False)
        with pytest.raises(Exception) as error:
            segment(client, "bayesian_segnet_lite")
        assert "not a readable safetensors file" in str(error.value)
        assert segment(client, "fcn8s_lite")[7]["output_size"] == [480, 360]
    finally:
        stop_app(process)
