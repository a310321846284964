"""benchmarks/calibration_by_scales.py: how one temperature carries, for each set of test scales compared."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import load_benchmark_script


def load_benchmark():
    return load_benchmark_script("calibration_by_scales")


def test_carry_finds_the_halves_that_want_different_temperatures():
    benchmark = load_benchmark()
    torch.manual_seed(0)
    z = torch.randn(8000, 1, 1, 3, dtype=torch.float64) * 3
    w = torch.ones(8000, 1, dtype=torch.float64)
    first = torch.arange(8000) < 4000  # the same scores on both halves; the first half's labels are noisier
    labels = torch.distributions.Categorical(logits=z[:, 0, 0] / torch.where(first, 3.0, 1.0)[:, None]).sample()
    one_street = benchmark.carry(benchmark.per_sample, z, w, labels, [8000], [10], None)
    assert one_street["part_temperatures"][0] > 2 * one_street["part_temperatures"][1]
    assert min(one_street["cross_fit_ece"]) > 0.05  # each half's temperature misses the other half
    assert sum(part["pixels"] for part in one_street["parts"]) == 8000 and "mixed_cross_fit" not in one_street
    # Labels drawn alike on both parts: the temperature carries.
    alike = torch.distributions.Categorical(logits=z[:, 0, 0] / 2.0).sample()
    two_streets = benchmark.carry(benchmark.per_sample, z, w, alike, [4000, 4000], [4, 4], [3.0, 1.0])
    assert max(two_streets["cross_fit_ece"]) < 0.03 and abs(two_streets["temperature"] - 2.0) < 0.2
    assert len(two_streets["mixed_cross_fit"]["pairings"]) == 4 and two_streets["mixed_cross_fit"]["ece_mixed"] < 0.03


def test_one_temperature_on_the_mix_shows_each_parts_error_beside_the_pooled_one():
    benchmark = load_benchmark()
    torch.manual_seed(0)
    z = torch.randn(8000, 1, 1, 3, dtype=torch.float64) * 3
    w = torch.ones(8000, 1, dtype=torch.float64)
    first = torch.arange(8000) < 4000  # one street wants T = 2 (over-confident scores), the other T = 0.7
    labels = torch.distributions.Categorical(logits=z[:, 0, 0] / torch.where(first, 2.0, 0.7)[:, None]).sample()
    result = benchmark.carry(benchmark.per_sample, z, w, labels, [4000, 4000], [4, 4], [1.0, 1.0])
    on_mix = result["fitted_on_mix"]
    assert 0.7 < on_mix["temperature"] < 2.0
    over, under = on_mix["parts"]
    assert over["confidence"] > over["accuracy"] and under["confidence"] < under["accuracy"]
    assert on_mix["pooled"]["ece"] < 0.5 * min(over["ece"], under["ece"])  # the two errors cancel when pooled
    assert over["pixels"] + under["pixels"] == on_mix["pooled"]["pixels"] == 8000


def test_the_command_line_compares_sets_of_scales_on_two_streets(tmp_path):
    from conftest import write_two_streets
    from segdemo.checkpoints import make_config, save_checkpoint
    from segdemo.models import build

    root = write_two_streets(tmp_path / "camvid", (("0001TP", 3), ("0006R0", 3)))
    torch.manual_seed(0)
    model = build("bayesian_segnet_lite").eval()  # FCN's score layers start at zero: uniform at any scale
    save_checkpoint(model, make_config("bayesian_segnet_lite", model, (48, 64)), tmp_path / "ck")
    benchmark = load_benchmark()
    common = ["--checkpoint", str(tmp_path / "ck"), "--data", str(root), "--sequence", "0006R0", "0001TP"]
    for bad in (["--scale-sets", "1,x"], ["--scale-sets", "1", "--share", "0006R0=3"], ["--scale-sets", "0.1"],
                # one frame of 0001TP left: no halves to cross-fit between
                ["--scale-sets", "1", "--share", "0006R0=3", "0001TP=1", "--exclude-frames", "0001TP_000", "0001TP_001"]):
        with pytest.raises(SystemExit) as refused:
            benchmark.main(common + bad)
        assert refused.value.code == 2
    out = tmp_path / "scales.json"
    assert benchmark.main(common + ["--scale-sets", "0.75,1", "1", "--share", "0006R0=3", "0001TP=1",
                                    "--exclude-frames", "0001TP_000", "--samples", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["frames"] == [3, 2] and report["samples"] == 2 and report["shares"] == {"0006R0": 3.0, "0001TP": 1.0}
    assert [row["scales"] for row in report["rows"]] == [[0.75, 1.0], [1.0]]
    for row in report["rows"]:
        assert [part["pixels"] for part in row["parts"]] == [3 * 1024, 2 * 1024]  # the order given, one left out
        pairings = row["mixed_cross_fit"]["pairings"]
        assert len(pairings) == 4 and all(0 <= ece < 1 for ece in pairings) and row["temperature"] > 0
        assert [part["pixels"] for part in row["fitted_on_mix"]["parts"]] == [3 * 1024, 1024]  # drawn 3:1
    # Each set was run at its own scales: the network's confidence differs between them.
    assert report["rows"][0]["parts"][0]["confidence"] != report["rows"][1]["parts"][0]["confidence"]
