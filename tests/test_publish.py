"""publish: --dry-run writes exactly what would be uploaded (a card whose metadata parses, files that load back).

And the upload, through the Hub's protocol, gives the zoo the same weights back."""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import ModelCard, constants, hf_hub_download
from hub_server import HubServer

from segdemo import evaluate, publish, train
from segdemo.checkpoints import load_checkpoint
from segdemo.hub import download, verify_sha256
from segdemo.zoo import WEIGHTS_DIR


def test_dry_run_folder_has_a_valid_card_and_loadable_files(tiny_camvid, tmp_path):
    run = tmp_path / "run"
    train.main(["--model", "bayesian_segnet_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1",
                "--batch-size", "4", "--steps", "1", "--out", str(run)])
    evaluate.main(["--checkpoint", str(run / "best"), "--data", str(tiny_camvid), "--samples", "2"])
    out = tmp_path / "upload"
    assert publish.main(["--model", "bayesian_segnet_lite", "--repo", "someone/bayesian-segnet-lite-camvid",
                         "--weights", str(run / "best"), "--dry-run", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]

    card = ModelCard.load(out / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "segdemo" and data["license"] == "mit"
    assert "camvid" in data["datasets"] and "semantic-segmentation" in data["tags"]
    measured = json.loads((run / "best" / "eval.json").read_text())
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results["mean_iou"] == round(100 * measured["mean_iou"], 2)
    assert results["bf_score"] == round(100 * measured["boundary_f1"], 2)
    assert all(r.dataset_split == "val" for r in card.data.eval_results)
    assert "Monte-Carlo dropout" in card.text and "2 samples" in card.text
    assert "median-frequency class balancing" in card.text  # the run's own weighting, the default here
    assert "evaluate --checkpoint weights/bayesian_segnet_lite --split val --sequence val`" in card.text  # its frames

    original, published = load_checkpoint(run / "best"), load_checkpoint(out)
    x = torch.randn(1, 3, 40, 50)
    with torch.no_grad():
        assert torch.equal(original.model(x), published.model(x))
    assert publish.sha256_of(out / "model.safetensors") == publish.sha256_of(run / "best" / "model.safetensors")


@pytest.mark.parametrize("name", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_the_shipped_weights_card_says_how_they_were_measured_and_weighted(name, tmp_path):
    """The shipped figures come from a twin on 0006R0 and the runs used ESPNet's weights: the card said
    "evaluate --checkpoint weights/NAME" (which measures val, frames these weights trained on) and "median-frequency"."""
    text = publish.model_card(name, WEIGHTS_DIR / name, f"someone/{name}").text
    assert "on its twin" in text and "--checkpoint TWIN --split train --sequence 0006R0" in text
    assert "ESPNet's class weights" in text and "median-frequency" not in text


def test_publish_uploads_what_the_zoo_then_downloads_and_loads(tmp_path, monkeypatch, capsys):
    """publish through huggingface_hub to the local Hub server; the pin it prints fetches the same weights."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the server speaks LFS, not Xet (hub_server.py)
    name, repo = "fcn8s_lite", "someone/fcn8s-lite-camvid"
    with HubServer() as server:
        upload = ["--model", name, "--repo", repo, "--token", "hf_local_test_token", "--endpoint", server.url]
        assert publish.main(upload) == 0
        printed = capsys.readouterr().out
        pin = json.loads(printed[printed.index("{"):])[name]
        assert pin["repo_id"] == repo and pin["sha256"] == publish.sha256_of(WEIGHTS_DIR / name / "model.safetensors")
        assert server.lfs_files(repo) == {"model.safetensors"}

        folder = download(repo, pin["revision"], cache_dir=tmp_path / "cache", endpoint=server.url)
        verify_sha256(folder, pin["sha256"])
        card = ModelCard.load(hf_hub_download(repo, "README.md", revision=pin["revision"], endpoint=server.url,
                                              cache_dir=tmp_path / "cache"))
        assert card.data.to_dict()["library_name"] == "segdemo"
        bundled, fetched = load_checkpoint(WEIGHTS_DIR / name), load_checkpoint(folder)
        x = torch.randn(1, 3, 64, 80)
        with torch.no_grad():
            assert torch.equal(bundled.model.eval()(x), fetched.model.eval()(x))

        assert publish.main(upload) == 0
        assert server.commits(repo) == [f"Publish {name} from segdemo", "initial commit"]  # the same files: no commit

        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
        refused = r"could not publish fcn8s_lite to someone/x: the Hub refused the token \(401"
        with pytest.raises(SystemExit, match=refused):
            publish.main(["--model", name, "--repo", "someone/x", "--endpoint", server.url])


def shipped_copy(tmp_path, name: str = "fcn8s_lite"):
    """A copy of a shipped checkpoint folder, to spoil."""
    import shutil

    folder = tmp_path / name
    shutil.copytree(WEIGHTS_DIR / name, folder)
    return folder


def refused(argv: list[str], capsys) -> str:
    """publish's one line, as a SystemExit (no traceback)."""
    with pytest.raises(SystemExit) as stopped:
        publish.main(argv)
    message = str(stopped.value.code)
    assert "\n" not in message and "Traceback" not in capsys.readouterr().err
    return message


def dry_run(name: str, folder, tmp_path) -> list[str]:
    return ["--model", name, "--repo", "someone/x", "--weights", str(folder), "--dry-run", str(tmp_path / "out")]


def test_a_model_name_that_is_no_model_is_one_line(tmp_path, capsys):
    """--model nosuch ended in a KeyError."""
    message = refused(dry_run("nosuch", WEIGHTS_DIR / "fcn8s_lite", tmp_path), capsys)
    assert message.startswith("publish: --model 'nosuch' is no segdemo model: use one of ") and "fcn8s_lite" in message
    assert not (tmp_path / "out").exists()


def test_a_checkpoint_of_another_model_than_model_is_refused(tmp_path, capsys):
    """--model names the card's description and tags: the card said FCN of a SegNet's weights."""
    message = refused(dry_run("fcn8s_lite", WEIGHTS_DIR / "bayesian_segnet_lite", tmp_path), capsys)
    assert message == (f"publish: {WEIGHTS_DIR / 'bayesian_segnet_lite'} holds a bayesian_segnet_lite checkpoint, "
                       "not the fcn8s_lite that --model names")


def test_figures_of_another_architecture_are_refused(tmp_path, capsys):
    """eval.json was never checked against the weights: another model's figures went on their card."""
    folder = shipped_copy(tmp_path)
    evaluation = json.loads((WEIGHTS_DIR / "bayesian_segnet_lite" / "eval.json").read_text())
    (folder / "eval.json").write_text(json.dumps(evaluation))
    message = refused(dry_run("fcn8s_lite", folder, tmp_path), capsys)
    assert message.startswith(f"publish: {folder / 'eval.json'} measured a 'bayesian_segnet_lite' model, not this "
                              "fcn8s_lite checkpoint: run python -m segdemo.evaluate --checkpoint")


@pytest.mark.parametrize(
    "spoil,said",
    [
        (lambda e: "{not json", "is not valid JSON"),  # a JSONDecodeError
        (lambda e: {k: v for k, v in e.items() if k != "boundary_f1"}, "lacks boundary_f1"),  # a KeyError
        (lambda e: {k: v for k, v in e.items() if k not in ("mean_iou", "split")}, "lacks split, mean_iou"),
        (lambda e: {k: v for k, v in e.items() if k != "architecture"}, "lacks architecture"),
        (lambda e: {**e, "mean_iou": "high"}, "has no figure between 0 and 1 for mean_iou"),
        (lambda e: {**e, "per_class_iou": e["per_class_iou"][:3]}, "has no per-class IoU for each of its class_names"),
        (lambda e: [e], "is not a JSON object"),
    ],
)
def test_an_eval_json_without_the_card_s_figures_is_one_line(tmp_path, capsys, spoil, said):
    folder = shipped_copy(tmp_path)
    spoilt = spoil(json.loads((folder / "eval.json").read_text()))
    (folder / "eval.json").write_text(spoilt if isinstance(spoilt, str) else json.dumps(spoilt))
    message = refused(dry_run("fcn8s_lite", folder, tmp_path), capsys)
    assert message.startswith(f"publish: {folder / 'eval.json'} {said}: run python -m segdemo.evaluate"), message


def test_the_card_says_what_predict_does_with_these_weights():
    """The steps between the network and the maps, read from config.json: scales, samples, temperature."""
    fcn = publish.model_card("fcn8s_lite", WEIGHTS_DIR / "fcn8s_lite", "someone/fcn").text
    temperature = json.loads((WEIGHTS_DIR / "fcn8s_lite" / "config.json").read_text())["temperature"]
    assert (f"it averages the scales' scores and divides them by the temperature in `config.json` ({temperature:.2f})"
            in fcn)
    assert "at (0.75, 1, 1.25)" in fcn and "mutual_information" not in fcn
    segnet = publish.model_card("bayesian_segnet_lite", WEIGHTS_DIR / "bayesian_segnet_lite", "someone/segnet").text
    temperature = json.loads((WEIGHTS_DIR / "bayesian_segnet_lite" / "config.json").read_text())["temperature"]
    assert "it averages 8 Monte-Carlo dropout samples, half of them on the mirror image" in segnet
    assert f"tempers their averaged probabilities with the temperature in `config.json` ({temperature:.2f})" in segnet
    assert "`mutual_information` (where the dropout samples disagree)" in segnet
    assert "That ECE is in part in-sample" in segnet  # measured on 0006R0, which the fit saw


def test_a_fine_tune_is_called_one_and_a_stale_calibration_is_refused(tmp_path):
    """A run started from other weights had been "trained from scratch"; a temperature fitted after eval.json was
    written had its card say "ECE 2.7% -> 2.7%", figures measured without it."""
    import shutil

    folder = tmp_path / "tuned"
    shutil.copytree(WEIGHTS_DIR / "fcn8s_lite", folder)
    config = json.loads((folder / "config.json").read_text())
    config["training"] = {"init": "weights/fcn8s_lite", "epochs": 2}
    (folder / "config.json").write_text(json.dumps(config))
    assert "FCN-8s on a quarter-width VGG16 with BN, fc6/fc7 of 256, fine-tuned from `weights/fcn8s_lite` on CamVid" \
        in publish.model_card("fcn8s_lite", folder, "someone/tuned").text
    config["temperature"] = 1.5
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(publish.CheckpointError, match=r"eval\.json measured these weights at temperature 1\.2732, "
                       r"but config\.json serves 1\.5: run python -m segdemo\.evaluate"):
        publish.model_card("fcn8s_lite", folder, "someone/tuned")
