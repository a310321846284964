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


def test_a_value_beyond_fp16_s_range_keeps_its_tensor_in_fp32(tmp_path, capsys):
    """fp16 made a running variance of 1e5 inf, silently: that batch norm then output 0 whatever it was given."""
    from safetensors.torch import load_file, save_file

    run = fake_run(tmp_path / "run", phase=1)
    weights = run / "last" / "model.safetensors"
    state = load_file(str(weights))
    key = next(k for k in sorted(state) if k.endswith("running_var"))
    state[key][0] = 1e5
    save_file(state, str(weights), metadata={"format": "pt", "architecture": "fcn8s_lite"})
    assert store_run.main([str(run), str(tmp_path / "kept")]) == 0
    assert f"kept in fp32 (values beyond fp16's range): {key}" in capsys.readouterr().out
    stored = load_file(str(tmp_path / "kept" / "model.safetensors"))
    assert stored[key].dtype == torch.float32 and torch.equal(stored[key], state[key])
    assert all(v.dtype == torch.float16 for k, v in stored.items() if v.is_floating_point() and k != key)
    assert all(bool(torch.isfinite(v.float()).all()) for v in stored.values())
    load_checkpoint(tmp_path / "kept")


def test_weights_with_nan_are_refused(tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    run = fake_run(tmp_path / "run", phase=1)
    weights = run / "last" / "model.safetensors"
    state = load_file(str(weights))
    state["score_fr.weight"][0, 0, 0, 0] = float("nan")
    save_file(state, str(weights), metadata={"format": "pt"})
    with pytest.raises(SystemExit):
        store_run.main([str(run), str(tmp_path / "kept")])
    assert "holds NaN or infinite values in 1 tensor(s) (the first: score_fr.weight)" in capsys.readouterr().err
    assert not (tmp_path / "kept").exists()


def test_storing_over_a_stored_folder_leaves_none_of_the_previous_weights_files(tmp_path):
    """The new weights were written over the old in place, and the old eval.json, curves and logs stayed beside them:
    publish would have put the old weights' figures on the new weights' card."""
    kept = tmp_path / "kept"
    store_run.store_run(fake_run(tmp_path / "old", phase=1, seed=1), kept, log_name="log-phase1.csv")
    for name in ("eval.json", "eval-test.json", "curves.png", "curves-phase1.png", "log-tried-this.csv"):
        (kept / name).write_text("the previous weights'")
    store_run.store_run(fake_run(tmp_path / "new", phase=2, seed=2), kept)
    assert sorted(p.name for p in kept.iterdir()) == ["config.json", "log.csv", "model.safetensors"]
    assert (kept / "log.csv").read_text() == "epoch,phase\n1,2\n"
    assert read_config(kept)["training"]["epochs"] == 20
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_a_phase_stored_over_its_earlier_phase_keeps_that_phase_s_log(tmp_path):
    """The earlier phase's files are read before its folder is replaced."""
    kept = store_run.store_run(fake_run(tmp_path / "p1", 1), tmp_path / "kept", log_name="log-phase1.csv")
    store_run.store_run(fake_run(tmp_path / "p2", 2), kept, earlier=[kept])
    assert sorted(p.name for p in kept.iterdir()) == ["config.json", "log-phase1.csv", "log-phase2.csv", "model.safetensors"]
    assert [phase["epochs"] for phase in read_config(kept)["training"]["earlier_phases"]] == [10]


def test_a_destination_holding_other_things_is_refused_and_left_alone(tmp_path, capsys):
    destination = tmp_path / "twins"
    (destination / "fcn8s_lite").mkdir(parents=True)
    (destination / "README.md").write_text("notes")
    with pytest.raises(SystemExit):
        store_run.main([str(fake_run(tmp_path / "run", 1)), str(destination)])
    assert "holds README.md, which is no stored checkpoint's file: keep the run in a new or empty folder" \
        in capsys.readouterr().err
    assert sorted(p.name for p in destination.iterdir()) == ["README.md", "fcn8s_lite"]


def test_a_store_that_fails_leaves_the_previous_folder_whole(tmp_path, monkeypatch):
    """Killed or failed mid-way, the previous checkpoint stays as it was (it was overwritten file by file)."""
    kept = store_run.store_run(fake_run(tmp_path / "old", 1, seed=1), tmp_path / "kept")
    before = {p.name: p.read_bytes() for p in kept.iterdir()}

    def fails(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_run.shutil, "copy", fails)  # the weights and config are written, the log is not
    with pytest.raises(OSError):
        store_run.store_run(fake_run(tmp_path / "new", 2, seed=2), kept)
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
