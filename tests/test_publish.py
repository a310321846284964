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
