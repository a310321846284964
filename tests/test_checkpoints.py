"""The checkpoint format: config.json + model.safetensors, loaded strictly and safely."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch
from conftest import ROOT, load_benchmark_script

from segdemo.checkpoints import CheckpointError, load_checkpoint, make_config, save_checkpoint
from segdemo.models import build


def trained_like(name: str) -> torch.nn.Module:
    """A model whose BN statistics are not the defaults, so that buffers must round-trip too."""
    torch.manual_seed(0)
    model = build(name)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 48, 64) * 2 + 0.5)
    return model.eval()


@pytest.mark.parametrize("name", ["fcn_basic", "fcn8s_lite", "bayesian_segnet_basic", "segnet_lite"])
def test_save_and_load_give_identical_outputs(tmp_path, name):
    model = trained_like(name)
    save_checkpoint(model, make_config(name, model, (48, 64)), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_checkpoint(tmp_path)
    x = torch.randn(1, 3, 50, 70)
    with torch.no_grad():
        assert torch.equal(model(x), loaded.model(x))
    assert loaded.input_size == (48, 64)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architecture"] == name and len(config["class_names"]) == 11 and len(config["palette"]) == 11


def test_frozen_upsampling_stays_frozen_after_loading(tmp_path):
    model = trained_like("fcn8s_lite")
    save_checkpoint(model, make_config("fcn8s_lite", model, (48, 64)), tmp_path)
    assert not load_checkpoint(tmp_path).model.upscore8.weight.requires_grad


@pytest.fixture
def saved(tmp_path):
    model = trained_like("segnet_lite")
    save_checkpoint(model, make_config("segnet_lite", model, (48, 64)), tmp_path)
    return tmp_path


def test_a_pickle_named_model_safetensors_is_refused(saved):
    (saved / "model.safetensors").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(saved)


def test_a_truncated_weights_file_is_refused(saved):
    data = (saved / "model.safetensors").read_bytes()
    (saved / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)


def test_missing_files_are_named(saved):
    (saved / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_checkpoint(saved)
    (saved / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"architecture": "resnet9000"}, "unknown architecture"),
        ({"num_classes": 12}, "class names"),
        ({"class_names": ["Sky"]}, "class names"),
        ({"palette": [[0, 0, 0]] * 10}, "RGB colour"),
        ({"input_size": [0, 10]}, "input_size"),
        ({"mean": "x"}, "mean"),
    ],
)
def test_invalid_configs_are_refused(saved, change, message):
    config = json.loads((saved / "config.json").read_text())
    config.update(change)
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(saved)


def test_weights_of_another_architecture_are_refused(saved):
    config = json.loads((saved / "config.json").read_text())
    config["architecture"] = "fcn_basic"
    config["model_kwargs"] = {}
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    "name,change",
    [
        ("fcn8s_lite", {"stride": 4}),  # ValueError
        ("fcn8s_lite", {"width": 1e308}),  # OverflowError
        ("bayesian_segnet_lite", {"dropout": 1.5}),  # ValueError from torch's dropout
        ("bayesian_segnet_lite", {"dropout_units": [9]}),  # there is no unit 9: it built a SegNet without dropout there
        ("fcn8s_lite", {"width": "x"}),  # TypeError
    ],
)
def test_model_arguments_the_network_refuses_are_a_checkpoint_error(tmp_path, name, change):
    """Any value of model_kwargs that the network refuses gives a CheckpointError, which the zoo turns into a
    model "not available right now"; another exception would stop the app at start-up."""
    checkpoint = tmp_path / name
    shutil.copytree(ROOT / "weights" / name, checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    config["model_kwargs"].update(change)
    (checkpoint / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(checkpoint)


def test_config_json_that_is_not_json_is_refused(saved):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(saved)


def test_weights_that_do_not_fit_give_a_short_reason_without_the_folder(saved):
    """The zoo shows ``reason`` to web visitors: it had the server's path and torch's many-line text."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(saved / "model.safetensors"))
    state["evil"] = torch.zeros(2)
    save_file(state, str(saved / "model.safetensors"))
    with pytest.raises(CheckpointError, match="do not fit") as refused:
        load_checkpoint(saved)
    assert refused.value.reason == "its weights do not fit a segnet_lite model: 1 unexpected tensor (evil)"
    assert str(saved) in str(refused.value)  # the terminal (evaluate, publish...) still names the folder
    del state["evil"]
    first = min(state)
    state[first] = torch.zeros(3)
    del state[max(state)]
    save_file(state, str(saved / "model.safetensors"))
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(saved)
    reason = refused.value.reason
    assert "1 missing tensor (" in reason and f"1 tensor of the wrong shape ({first})" in reason, reason
    assert "\n" not in reason and str(saved) not in reason


def test_config_errors_have_a_reason_without_the_folder(saved):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(saved)
    assert refused.value.reason == "config.json is not valid JSON" and str(saved) in str(refused.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_weights_with_nan_or_inf_are_refused(saved, value):
    """They loaded, and the model answered NaN (every pixel the first class) or garbage."""
    from safetensors.torch import load_file, save_file

    state = load_file(str(saved / "model.safetensors"))
    floats = sorted(k for k, v in state.items() if v.is_floating_point())
    for key in floats[-2:]:
        state[key].view(-1)[0] = value
    save_file(state, str(saved / "model.safetensors"))
    with pytest.raises(CheckpointError, match="NaN or infinite values in 2 tensors") as refused:
        load_checkpoint(saved)
    assert refused.value.reason == (f"model.safetensors holds NaN or infinite values in 2 tensors "
                                    f"(the first: {floats[-2]})")


@pytest.mark.parametrize("name", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_the_finiteness_check_passes_the_bundled_weights_and_finds_one_bad_value_in_them(name):
    """Every floating-point tensor of the real weights is looked at: one infinity, in the last of them, is named. What
    the check costs is a benchmark's figure (benchmarks/checkpoint_load.py), not this test's: a timed assert here
    failed on a busy machine, where torch's two threads wait on each other."""
    from safetensors.torch import load_file

    from segdemo.checkpoints import non_finite_tensors

    state = load_file(str(ROOT / "weights" / name / "model.safetensors"))
    assert non_finite_tensors(state) == []
    last = sorted(key for key, tensor in state.items() if tensor.is_floating_point())[-1]
    state[last].view(-1)[-1] = float("inf")
    assert non_finite_tensors(state) == [last]


def test_the_checkpoint_load_benchmark_runs_and_writes_its_figures(tmp_path):
    """benchmarks/checkpoint_load.py, one repeat: a row per shipped model (no speed is asserted here)."""
    out = tmp_path / "load.json"
    assert load_benchmark_script("checkpoint_load").main(["--repeats", "1", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [row["model"] for row in rows] == ["fcn8s_lite", "bayesian_segnet_lite"]
    assert all(row["finiteness_ms"] > 0 and row["load_checkpoint_ms"] > 0 and row["parameters"] > 0 for row in rows)


def test_a_config_json_over_the_bound_is_refused_unread(saved, monkeypatch):
    """A 60 MB config.json was read and parsed whole; the real ones are 6-8 kB."""
    from segdemo import checkpoints

    config = json.loads((saved / "config.json").read_text())
    config["padding"] = "x" * (checkpoints.MAX_CONFIG_BYTES + 1)
    (saved / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="config.json in .* is over 1024 kB") as refused:
        load_checkpoint(saved)
    assert refused.value.reason == "config.json is over 1024 kB, more than a checkpoint's config may be"
    for name in ("fcn8s_lite", "bayesian_segnet_lite"):
        assert (ROOT / "weights" / name / "config.json").stat().st_size < checkpoints.MAX_CONFIG_BYTES / 100


def test_a_float64_tensor_whose_sum_overflows_is_still_finite():
    from segdemo.checkpoints import non_finite_tensors

    big = torch.full((4,), 1e308, dtype=torch.float64)
    assert non_finite_tensors({"big": big}) == []
    big[1] = float("nan")
    assert non_finite_tensors({"big": big, "fine": torch.ones(3)}) == ["big"]


def test_what_is_no_checkpoint_folder_is_refused_in_a_sentence(tmp_path):
    """A Hub repo id or the weights file itself, given for the folder: the library user is told what to give."""
    shutil.copytree(ROOT / "weights" / "fcn8s_lite", tmp_path / "ck")
    with pytest.raises(CheckpointError, match=r"fcn8s-lite-camvid is no folder: a checkpoint is a folder .*snapshot"):
        load_checkpoint("someone/fcn8s-lite-camvid")
    with pytest.raises(CheckpointError, match=r"model\.safetensors is a file: a checkpoint is a folder"):
        load_checkpoint(tmp_path / "ck" / "model.safetensors")


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for a GPU that is not there")
def test_a_device_that_is_not_here_is_refused_before_anything_loads():
    folder = ROOT / "weights" / "fcn8s_lite"
    with pytest.raises(CheckpointError, match=r"device 'cuda' was asked for, but torch finds no CUDA GPU here"):
        load_checkpoint(folder, device="cuda")
    with pytest.raises(CheckpointError, match=r"'gpu' is no torch device .*: use 'cpu' or 'cuda'"):
        load_checkpoint(folder, device="gpu")
    assert load_checkpoint(folder, device=torch.device("cpu")).config["architecture"] == "fcn8s_lite"
