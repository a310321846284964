"""Temperature scaling end to end: stored in config.json, applied by predict, fitted and measured by the CLIs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from segdemo import calibrate, evaluate, report
from segdemo.checkpoints import CheckpointError, load_checkpoint, make_config, save_checkpoint, write_temperature
from segdemo.data import normalize
from segdemo.hub import sha256_of
from segdemo.inference import class_logits, class_probabilities, predict
from segdemo.models import build
from segdemo.trustplots import PLOT_FILES, current_plots, stamped_source
from segdemo.zoo import WEIGHTS_DIR

from conftest import ROOT

SIZE = (48, 64)  # the tiny dataset's frames and the fresh checkpoints' working resolution
EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"


def save_model(folder, name: str = "fcn8s_lite", seed: int = 0):
    """A freshly initialised checkpoint (its logits are all near zero: fine for the command lines)."""
    torch.manual_seed(seed)
    model = build(name).eval()
    save_checkpoint(model, make_config(name, model, SIZE), folder)
    return folder


def shipped_copy(folder, name: str = "fcn8s_lite"):
    """A copy of a shipped checkpoint, with its temperature and test scales removed: real logits of one pass."""
    shutil.copytree(WEIGHTS_DIR / name, folder)
    write_temperature(folder, None, scales=(1.0,))
    return folder


@pytest.fixture
def picture() -> Image.Image:
    """A CamVid frame at exactly the shipped FCN's working resolution, so predict resizes nothing."""
    height, width = json.loads((WEIGHTS_DIR / "fcn8s_lite" / "config.json").read_text())["input_size"]
    with Image.open(EXAMPLE) as image:
        return image.convert("RGB").resize((width, height), Image.BILINEAR)


def network_input(picture: Image.Image) -> torch.Tensor:
    return normalize(torch.from_numpy(np.asarray(picture).copy()).permute(2, 0, 1).unsqueeze(0))


def test_a_checkpoint_without_a_temperature_behaves_exactly_as_before(tmp_path, picture):
    checkpoint = load_checkpoint(shipped_copy(tmp_path / "plain"))
    assert "temperature" not in checkpoint.config and checkpoint.temperature == 1.0
    x = network_input(picture)
    with torch.no_grad():
        before = F.softmax(checkpoint.model(x).float(), dim=1)  # the formula predict used before temperatures
    assert torch.equal(class_probabilities(checkpoint.model, x)[0], before)
    result = predict(picture, checkpoint)
    assert result.temperature == 1.0
    assert torch.allclose(result.probabilities, before[0], atol=1e-6)
    # an explicit T = 1 is the very same computation
    write_temperature(tmp_path / "plain", 1.0)
    same = predict(picture, load_checkpoint(tmp_path / "plain"))
    assert torch.equal(same.probabilities, result.probabilities) and torch.equal(same.confidence, result.confidence)


def test_predict_applies_the_stored_temperature(tmp_path, picture):
    plain = predict(picture, load_checkpoint(shipped_copy(tmp_path / "model")))
    write_temperature(tmp_path / "model", 2.0, {"split": "val", "sequences": ["x"], "images": 1})
    checkpoint = load_checkpoint(tmp_path / "model")
    assert checkpoint.temperature == 2.0
    hot = predict(picture, checkpoint)
    with torch.no_grad():
        expected = F.softmax(checkpoint.model(network_input(picture)).float() / 2.0, dim=1)[0]
    assert torch.allclose(hot.probabilities, expected, atol=1e-6)
    assert torch.equal(hot.labels, plain.labels)  # one pass: dividing the logits never changes the argmax
    assert float(hot.confidence.mean()) < float(plain.confidence.mean())  # T > 1 softens
    assert float(hot.entropy.mean()) > float(plain.entropy.mean())
    assert hot.temperature == 2.0


def test_a_bayesian_model_scales_each_sample_before_averaging(tmp_path, picture):
    checkpoint = load_checkpoint(shipped_copy(tmp_path / "bayes", "bayesian_segnet_lite"))
    x = network_input(picture)
    mean, samples = class_probabilities(checkpoint.model, x, samples=4, seed=5, temperature=0.7)
    logits = class_logits(checkpoint.model, x, samples=4, seed=5)  # the same seeded dropout masks
    assert torch.allclose(samples, F.softmax(logits / 0.7, dim=2), atol=1e-6)
    assert torch.allclose(mean, F.softmax(logits / 0.7, dim=2).mean(dim=1), atol=1e-6)


def test_a_bayesian_model_with_the_averaged_scope_rescales_the_average(tmp_path, picture):
    folder = shipped_copy(tmp_path / "bayes", "bayesian_segnet_lite")
    plain = predict(picture, load_checkpoint(folder), samples=4, seed=5)
    write_temperature(folder, 1.5, {"split": "val", "sequences": ["x"], "images": 1}, scope="averaged")
    checkpoint = load_checkpoint(folder)
    assert checkpoint.config["temperature_scope"] == checkpoint.temperature_scope == "averaged"
    x = network_input(picture)
    mean, samples = class_probabilities(
        checkpoint.model, x, samples=4, seed=5, temperature=1.5, temperature_scope="averaged"
    )
    logits = class_logits(checkpoint.model, x, samples=4, seed=5)
    assert torch.allclose(samples, F.softmax(logits, dim=2), atol=1e-6)  # the samples stay untempered
    assert torch.allclose(mean, F.softmax(F.softmax(logits, dim=2).mean(dim=1).log() / 1.5, dim=1), atol=1e-5)
    hot = predict(picture, checkpoint, samples=4, seed=5)
    assert float(hot.confidence.mean()) < float(plain.confidence.mean())  # T > 1 softens the average
    assert torch.equal(hot.labels, plain.labels)  # a temperature on the average never moves its argmax
    # the mutual information is the samples' own disagreement, which no temperature of the average changes
    assert torch.allclose(hot.mutual_information, plain.mutual_information, atol=1e-6)
    # and a checkpoint without the key is scaled per sample, as every checkpoint was before the key
    write_temperature(folder, 1.5, {"split": "val", "sequences": ["x"], "images": 1})
    assert "temperature_scope" not in json.loads((folder / "config.json").read_text())
    assert load_checkpoint(folder).temperature_scope == "samples"


def test_a_bad_temperature_scope_is_refused_clearly(tmp_path):
    folder = save_model(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["temperature"], config["temperature_scope"] = 1.2, "pixels"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="temperature_scope must be one of"):
        load_checkpoint(folder)


@pytest.mark.parametrize("bad", [0, -1.5, "hot", True, float("inf")])
def test_a_bad_temperature_is_refused_clearly(tmp_path, bad):
    folder = save_model(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    config["temperature"] = bad
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="temperature must be a positive number"):
        load_checkpoint(folder)


def test_storing_a_temperature_changes_config_json_only(tmp_path):
    folder = save_model(tmp_path / "model")
    config_before = json.loads((folder / "config.json").read_text())
    digest = sha256_of(folder / "model.safetensors")  # what the zoo pins
    write_temperature(folder, 1.23456, {"split": "val", "sequences": ["0016E5"], "images": 101})
    config = json.loads((folder / "config.json").read_text())
    assert config["temperature"] == 1.2346 and config["temperature_fitted_on"]["images"] == 101
    assert {k: v for k, v in config.items() if not k.startswith("temperature")} == config_before
    assert sha256_of(folder / "model.safetensors") == digest
    write_temperature(folder, None)
    assert json.loads((folder / "config.json").read_text()) == config_before


def test_calibrate_then_evaluate_on_a_tiny_dataset(tmp_path, tiny_camvid, capsys):
    folder = save_model(tmp_path / "bayesian_segnet_lite", "bayesian_segnet_lite")
    args = ["--checkpoint", str(folder), "--data", str(tiny_camvid), "--split", "val", "--samples", "2"]
    assert calibrate.main([*args, "--pixels-per-image", "100000"]) == 0  # every labelled pixel
    config = json.loads((folder / "config.json").read_text())
    fitted = config["temperature_fitted_on"]
    assert 0.05 <= config["temperature"] <= 20
    assert fitted["split"] == "val" and fitted["sequences"] == ["val"] and fitted["images"] == 3
    assert fitted["samples"] == 2 and fitted["nll_after"] <= fitted["nll_before"] + 1e-6
    assert fitted["scope"] == config["temperature_scope"] == "averaged"  # served: the averaged probabilities rescaled
    assert set(fitted["other_scope"]) == {"scope", "temperature", "nll_after", "ece_after"}  # the alternative, measured
    assert fitted["other_scope"]["scope"] == "samples"
    out = tmp_path / "bayesian_segnet_lite" / "eval.json"
    assert evaluate.main([*args, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    calibration, errors = result["calibration"], result["error_detection"]
    assert calibration["temperature"] == config["temperature"] and calibration["fitted_on_these_frames"] is True
    assert set(calibration["by_samples"]) == {"1", "2"}  # Monte-Carlo averaging against dropout off
    for block in (calibration["uncalibrated"], calibration["calibrated"]):
        assert 0 <= block["ece"] <= 1 and block["nll"] > 0 and 0 <= block["brier"] <= 2
        assert len(block["reliability"]["count"]) == 15 and sum(block["reliability"]["count"]) == block["pixels"]
    # the fit minimised the NLL of the probabilities exactly as evaluate serves them, on these very pixels
    assert calibration["calibrated"]["nll"] == pytest.approx(fitted["nll_after"], rel=1e-3)
    assert calibration["uncalibrated"]["nll"] == pytest.approx(fitted["nll_before"], rel=1e-3)
    assert errors["scores"] == ["entropy", "mutual_information"]
    assert errors["all"]["pixels"] == calibration["calibrated"]["pixels"] and errors["band"]["pixels"] > 0
    assert len(errors["all"]["entropy"]["kept"]["accuracy"]) == 50
    assert result["global_accuracy"] == pytest.approx(calibration["calibrated"]["accuracy"])  # the same served labels
    printed = capsys.readouterr().out
    assert "ECE" in printed and "AUROC" in printed

    # the report's table and plots come from that eval.json
    table = report.trust_table(tmp_path)
    assert "`bayesian_segnet_lite`" in table and f"{100 * calibration['calibrated']['ece']:.1f}%" in table
    docs = tmp_path / "docs"
    written = report.write_plots(docs, tmp_path)
    assert sorted(p.name for p in written) == sorted(PLOT_FILES.values())
    evaluations = report.plot_evaluations(tmp_path)
    assert all(isinstance(v, type(docs)) for v in current_plots(evaluations, docs).values())  # the PNGs are current
    evaluations[next(iter(evaluations))]["calibration"]["temperature"] = 9.0
    assert all(isinstance(v, Image.Image) for v in current_plots(evaluations, docs).values())  # stale: drawn afresh
    assert stamped_source(docs / "missing.png") is None


def test_calibrate_explains_a_missing_split(tmp_path, tiny_camvid, capsys):
    folder = save_model(tmp_path / "model")
    with pytest.raises(SystemExit) as exit_info:
        calibrate.main(["--checkpoint", str(folder), "--data", str(tiny_camvid), "--split", "nope"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "no split file" in message and "Traceback" not in message


def test_pixels_by_share_puts_each_sequence_in_its_proportion():
    per_frame = calibrate.pixels_by_share({"0006R0": 101, "0001TP": 31}, {"0006R0": 171, "0001TP": 62}, 1024)
    assert per_frame["0001TP"] == 1024 and per_frame["0006R0"] == round(1024 * (171 / 101) / (62 / 31))
    assert 101 * per_frame["0006R0"] / (31 * per_frame["0001TP"]) == pytest.approx(171 / 62, rel=2e-3)
    with pytest.raises(ValueError, match="no share for 0001TP"):
        calibrate.pixels_by_share({"0006R0": 101, "0001TP": 31}, {"0006R0": 1}, 1024)
    with pytest.raises(ValueError, match="no frames of Seq05VD"):
        calibrate.pixels_by_share({"0006R0": 101}, {"0006R0": 1, "Seq05VD": 1}, 1024)
    for bad in ("0006R0", "0006R0=-1", "=3", "0006R0=x"):
        with pytest.raises(ValueError, match="SEQUENCE=WEIGHT"):
            calibrate.parse_shares([bad])


def test_calibrate_fits_on_a_weighted_mix_of_sequences_and_leaves_out_frames(tmp_path, capsys):
    from conftest import write_camvid_layout

    root = write_camvid_layout(tmp_path / "camvid", {"dayroad": 2, "dusk": 4}, seed=3)
    (root / "mix.txt").write_text((root / "dayroad.txt").read_text() + (root / "dusk.txt").read_text())
    folder = save_model(tmp_path / "model")
    args = ["--checkpoint", str(folder), "--data", str(root), "--split", "mix", "--pixels-per-image", "300"]
    assert calibrate.main([*args, "--exclude-frames", "dusk_000", "--share", "dayroad=3", "dusk=1"]) == 0
    fitted = json.loads((folder / "config.json").read_text())["temperature_fitted_on"]
    assert fitted["frames_by_sequence"] == {"dayroad": 2, "dusk": 3} and fitted["images"] == 5
    assert fitted["excluded_frames"] == ["dusk_000"]
    assert fitted["pixels_per_frame"] == {"dayroad": 300, "dusk": 67}  # 2 x 300 : 3 x 67 = 3 : 1
    assert fitted["pixels"] == 2 * 300 + 3 * 67 and fitted["shares"] == {"dayroad": 3.0, "dusk": 1.0}
    assert "pixels weighted dayroad 3 : dusk 1" in capsys.readouterr().out
    # a share that does not match the frames is a clear message, not a traceback
    with pytest.raises(SystemExit) as exit_info:
        calibrate.main([*args, "--share", "dayroad=3"])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err
    assert "no share for dusk" in message and "Traceback" not in message
