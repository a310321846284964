"""publish --dry-run writes exactly what would be uploaded: a card whose metadata parses, files that load back."""

from __future__ import annotations

import json

import torch
from huggingface_hub import ModelCard

from segdemo import evaluate, publish, train
from segdemo.checkpoints import load_checkpoint


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

    original, published = load_checkpoint(run / "best"), load_checkpoint(out)
    x = torch.randn(1, 3, 40, 50)
    with torch.no_grad():
        assert torch.equal(original.model(x), published.model(x))
    assert publish.sha256_of(out / "model.safetensors") == publish.sha256_of(run / "best" / "model.safetensors")
