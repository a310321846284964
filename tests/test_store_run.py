"""A run's last weights are kept in fp16 with the history of the phases that made them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from segdemo import store_run
from segdemo.checkpoints import load_checkpoint, make_config, read_config, save_checkpoint
from segdemo.models import build

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "camvid_0006R0_f01290.jpg"


def fake_run(folder: Path, phase: int, seed: int = 0) -> Path:
    """A segdemo.train output folder: last/ with a trained-looking batch norm, and its log."""
    torch.manual_seed(seed)
    model = build("fcn8s_lite")
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.num_batches_tracked.fill_(1234 + phase)
    training = {"epochs": 10 * phase, "held_out": ["0006R0"], "excluded_frames": [f"0001TP_00{phase}000"], "init": "last"}
    save_checkpoint(model.eval(), make_config("fcn8s_lite", model, (360, 480), extra={"training": training}), folder / "last")
    (folder / "log.csv").write_text(f"epoch,phase\n1,{phase}\n")
    return folder


def test_floats_are_halved_integers_and_metadata_kept_and_the_labels_hardly_move(tmp_path):
    run = fake_run(tmp_path / "run", phase=1)
    stored = store_run.store_run(run, tmp_path / "kept")
    full, half = (folder / "model.safetensors" for folder in (run / "last", stored))
    with safe_open(str(full), "pt") as a, safe_open(str(half), "pt") as b:
        assert a.metadata() == b.metadata() and set(a.keys()) == set(b.keys())
        for key in a.keys():
            x, y = a.get_tensor(key), b.get_tensor(key)
            if x.is_floating_point():
                assert y.dtype == torch.float16 and torch.allclose(x, y.float(), rtol=1e-3, atol=1e-4), key
            else:
                assert y.dtype == x.dtype and torch.equal(x, y), key
    assert half.stat().st_size < 0.55 * full.stat().st_size
    assert (stored / "log.csv").read_text() == (run / "log.csv").read_text()
    assert read_config(stored) == read_config(run / "last")  # nothing added when nothing was asked for
    assert store_run.label_agreement(run / "last", stored, EXAMPLE) > 0.995


def test_the_earlier_phases_training_blocks_and_logs_follow_oldest_first(tmp_path):
    phase1 = store_run.store_run(fake_run(tmp_path / "p1", 1), tmp_path / "kept1", log_name="log-phase1.csv")
    phase2 = store_run.store_run(fake_run(tmp_path / "p2", 2), tmp_path / "kept2", earlier=[phase1])
    phase3 = store_run.store_run(fake_run(tmp_path / "p3", 3), tmp_path / "kept3", earlier=[phase2],
                                 init="phase 3 from phase 2 from phase 1", test_scales=[0.75, 1, 1.25])
    config = read_config(phase3)
    training = config["training"]
    assert [phase["epochs"] for phase in training["earlier_phases"]] == [10, 20]
    assert all("earlier_phases" not in phase for phase in training["earlier_phases"])
    assert training["epochs"] == 30 and training["init"] == "phase 3 from phase 2 from phase 1"
    assert config["test_scales"] == [0.75, 1.0, 1.25]
    assert sorted(p.name for p in phase3.glob("log*.csv")) == ["log-phase1.csv", "log-phase2.csv", "log-phase3.csv"]
    assert [(phase3 / f"log-phase{n}.csv").read_text().split(",")[-1].strip() for n in (1, 2, 3)] == ["1", "2", "3"]
    assert load_checkpoint(phase3).test_scales == (0.75, 1.0, 1.25)


def test_a_run_that_has_not_finished_is_refused_in_words(tmp_path, capsys):
    run = tmp_path / "cut"
    (run / "state").mkdir(parents=True)
    with pytest.raises(SystemExit) as stopped:
        store_run.main([str(run), str(tmp_path / "kept")])
    assert stopped.value.code == 2
    assert "has not finished (resume it with --resume" in capsys.readouterr().err
    assert not (tmp_path / "kept").exists()


def test_the_command_line_reports_the_size_and_the_agreement(tmp_path, capsys):
    run = fake_run(tmp_path / "run", 1)
    assert store_run.main([str(run), str(tmp_path / "kept"), "--check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "1 phase(s)" in out and "labels as fp32's on" in out and "config.json, log.csv, model.safetensors" in out
    assert json.loads((tmp_path / "kept" / "config.json").read_text())["architecture"] == "fcn8s_lite"
