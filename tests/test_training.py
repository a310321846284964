"""Training: the loss falls on a fixed batch; the scripts write what they promise."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import torch

from segdemo import evaluate, train
from segdemo.checkpoints import load_checkpoint
from segdemo.data.camvid import CamVid, median_frequency_weights
from segdemo.models import build


def first_frames(root, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` training frames of the tiny dataset and their labels, the generators seeded."""
    train.seed_everything(0)
    data = CamVid(root=root, split="train")
    return torch.stack([data[i][0] for i in range(count)]), torch.stack([data[i][1] for i in range(count)])


@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16-channels-last"])
def test_a_few_steps_on_one_batch_reduce_the_loss(tiny_camvid, bf16):
    train.seed_everything(0)
    data = CamVid(root=tiny_camvid, split="train")
    images = torch.stack([data[i][0] for i in range(4)])
    labels = torch.stack([data[i][1] for i in range(4)])
    weights = median_frequency_weights(data.labels)
    if bf16:  # at 96x128, not 48x64: oneDNN's bf16 fc6 weight gradient (7x7 over a 2x2 map) can be NaN at every step
        images, labels = (t.repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2) for t in (images, labels))
    for name in ("bayesian_segnet_lite", "fcn8s_lite"):
        model = build(name).train()
        if bf16:
            model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        losses = [train.train_step(model, optimizer, images, labels, weights, autocast=bf16, channels_last=bf16)
                  for _ in range(12)]
        # a skipped step (its loss or gradients not finite) is NaN and changes nothing
        finite = [loss for loss in losses if not math.isnan(loss)]
        assert len(finite) >= 10 and finite[-1] < 0.7 * finite[0], (name, losses)
        assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_steps_with_the_lovasz_loss_reduce_it_and_the_run_records_it_and_copy_paste(tiny_camvid, tmp_path):
    images, labels = first_frames(tiny_camvid, 4)
    model = build("fcn8s_lite").train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    weights = torch.ones(11)
    losses = [train.train_step(model, optimizer, images, labels, weights, lovasz_weight=1.0, lovasz_pixels=2000)
              for _ in range(12)]
    finite = [loss for loss in losses if not math.isnan(loss)]  # a skipped step is NaN
    assert len(finite) >= 10 and finite[-1] < 0.7 * finite[0], losses
    out = tmp_path / "run"
    assert train.main(["--model", "fcn8s_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48",
                       "64", "--steps", "2", "--batch-size", "2", "--lovasz-weight", "0.5", "--copy-paste", "0.5",
                       "--paste-classes", "Pole", "Car", "--colour-cast", "0.1", "--label-relaxation", "1",
                       "--out", str(out)]) == 0
    recorded = load_checkpoint(out / "last").config["training"]
    assert recorded["lovasz_weight"] == 0.5 and recorded["lovasz_pixels"] == 100_000 and recorded["copy_paste"] == 0.5
    assert recorded["pasted_classes"] == ["Pole", "Car"] and recorded["colour_cast"] == 0.1
    assert recorded["label_relaxation"] == 1 and recorded["focal_gamma"] == 0.0
    focal = tmp_path / "focal"
    assert train.main(["--model", "fcn8s_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48",
                       "64", "--steps", "2", "--batch-size", "2", "--focal-gamma", "3", "--out", str(focal)]) == 0
    assert load_checkpoint(focal / "last").config["training"]["focal_gamma"] == 3.0


def test_learning_rate_warms_up_then_decays():
    lrs = [train.learning_rate(step, (step - 10) / 90, 10, 1.0) for step in range(100)]   # the trainer's own schedule
    assert lrs[0] < lrs[9] == 1.0
    assert lrs[50] < 1.0 and lrs[-1] < 0.05


def test_train_then_evaluate_end_to_end(tiny_camvid, tmp_path):
    out = tmp_path / "run"
    code = train.main(
        ["--model", "segnet_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "2",
         "--batch-size", "4", "--val-every", "1", "--out", str(out), "--seed", "1"]
    )
    assert code == 0
    for name in ("log.csv", "log.json", "curves.png", "best/config.json", "best/model.safetensors"):
        assert (out / name).is_file(), name
    history = json.loads((out / "log.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2]
    assert all("val_mean_iou" in row for row in history)
    checkpoint = load_checkpoint(out / "best")
    assert checkpoint.config["training"]["size"] == [48, 64]

    report = tmp_path / "eval.json"
    assert evaluate.main(["--checkpoint", str(out / "best"), "--data", str(tiny_camvid), "--split", "test", "--out", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["split"] == "test" and result["images"] == 2
    for key in ("global_accuracy", "class_accuracy", "mean_iou", "boundary_f1", "per_class_iou"):
        assert key in result
    assert 0.0 <= result["mean_iou"] <= 1.0
    assert not (out / "best" / "eval.json").exists()  # --out was honoured


def test_seeded_training_is_repeatable(tiny_camvid, tmp_path):
    args = ["--model", "fcn_basic", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1",
            "--batch-size", "4", "--steps", "2", "--seed", "3"]
    train.main(args + ["--out", str(tmp_path / "a")])
    train.main(args + ["--out", str(tmp_path / "b")])
    a = load_checkpoint(tmp_path / "a" / "best").model.state_dict()
    b = load_checkpoint(tmp_path / "b" / "best").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_bayesian_model_can_start_from_its_plain_twin(tiny_camvid, tmp_path):
    common = ["--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1", "--batch-size", "4", "--steps", "1"]
    train.main(["--model", "segnet_lite", "--out", str(tmp_path / "plain"), *common])
    plain = load_checkpoint(tmp_path / "plain" / "best").model.state_dict()
    # zero learning rate: the Bayesian twin keeps the plain weights exactly (BN statistics aside)
    train.main(["--model", "bayesian_segnet_lite", "--init", str(tmp_path / "plain" / "best"), "--lr", "0",
                "--out", str(tmp_path / "bayes"), *common])
    bayes = load_checkpoint(tmp_path / "bayes" / "best")
    assert bayes.config["training"]["init"].endswith("best")
    for key, value in plain.items():
        if "running" not in key and "num_batches" not in key:
            assert torch.equal(bayes.model.state_dict()[key], value), key


def test_a_lower_dropout_rate_is_built_saved_and_loaded_back(tiny_camvid, tmp_path):
    common = ["--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1", "--batch-size", "4", "--steps", "1"]
    train.main(["--model", "bayesian_segnet_lite", "--dropout", "0.2", "--out", str(tmp_path / "run"), *common])
    loaded = load_checkpoint(tmp_path / "run" / "best")
    assert loaded.config["model_kwargs"]["dropout"] == 0.2
    rates = {m.p for m in loaded.model.modules() if hasattr(m, "p") and isinstance(m.p, float)}
    assert rates == {0.2}
    with pytest.raises(SystemExit, match="no Monte-Carlo dropout"):
        train.main(["--model", "fcn8s_lite", "--dropout", "0.2", "--out", str(tmp_path / "fcn"), *common])


def test_a_wider_network_is_built_saved_and_loaded_back(tiny_camvid, tmp_path):
    common = ["--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1", "--batch-size", "4", "--steps", "1"]
    train.main(["--model", "fcn8s_lite", "--width", "0.3", "--out", str(tmp_path / "run"), *common])
    loaded = load_checkpoint(tmp_path / "run" / "best")
    assert loaded.config["model_kwargs"]["width"] == 0.3
    assert loaded.model.state_dict().keys() == build("fcn8s_lite").state_dict().keys()
    first_convolution = next(m for m in loaded.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_convolution.out_channels == round(64 * 0.3) != round(64 * 0.25)


def test_evaluate_samples_bayesian_models_and_says_so(tiny_camvid, tmp_path):
    train.main(["--model", "bayesian_segnet_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64", "--epochs", "1",
                "--batch-size", "4", "--steps", "1", "--out", str(tmp_path / "run")])
    for samples in (1, 4):
        report = tmp_path / f"eval{samples}.json"
        evaluate.main(["--checkpoint", str(tmp_path / "run" / "best"), "--data", str(tiny_camvid), "--samples",
                       str(samples), "--out", str(report)])
        assert json.loads(report.read_text())["samples"] == samples


def test_a_segnet_encoder_can_start_from_an_fcn_encoder():
    fcn, segnet = build("fcn8s_lite"), build("bayesian_segnet_lite")
    before = {k: v.clone() for k, v in segnet.state_dict().items()}
    copied = train.load_vgg_encoder(segnet, fcn.state_dict())
    assert copied == 13 * 2 + 13 * 5  # 13 convolutions (weight, bias) and their batch norms
    after = segnet.state_dict()
    for key, value in fcn.state_dict().items():
        if key.startswith("block") and ".conv" in key:
            assert torch.equal(after["enc" + key[len("block"):]], value)
    decoder = [k for k in after if k.startswith("dec") or k.startswith("conv_classifier")]
    assert decoder and all(torch.equal(after[k], before[k]) for k in decoder)  # the decoder keeps its own init
    try:
        train.load_vgg_encoder(build("segnet_basic"), fcn.state_dict())
    except ValueError as error:
        assert "does not fit" in str(error) or "no VGG encoder" in str(error)
    else:
        raise AssertionError("a SegNet-Basic encoder cannot take VGG16 weights")


def test_precision_choice_follows_the_switch():
    cpu = torch.device("cpu")
    assert train.use_bf16(cpu, "fp32") is False
    assert train.use_bf16(cpu, "bf16") is True
    assert train.use_bf16(cpu, "auto") is train.cpu_has_bf16()
    assert train.use_bf16(torch.device("cuda"), "auto") is True


def test_budget_schedule_decays_over_the_trained_minutes():
    base = 1.0
    assert train.learning_rate(0, 0.0, 10, base) == 0.1  # warming up
    assert train.learning_rate(50, 0.0, 10, base) == base
    assert abs(train.learning_rate(50, 0.5, 10, base) - (0.01 + 0.99 * 0.5)) < 1e-9
    assert abs(train.learning_rate(50, 1.0, 10, base) - 0.01) < 1e-9
    assert train.learning_rate(50, 3.0, 10, base) == train.learning_rate(50, 1.0, 10, base)  # clamped past the end


RESUME_ARGS = ["--model", "bayesian_segnet_lite", "--size", "32", "48", "--frame-size", "48", "64", "--epochs", "3",
               "--batch-size", "4", "--val-every", "1", "--seed", "5", "--lr", "3e-3", "--aux-weight", "0.4",
               "--ema", "0.9", "--precision", "bf16"]


def test_an_interrupted_run_resumes_the_same_schedule(tiny_camvid, tmp_path):
    """8 frames in batches of 4: 2 steps an epoch, 6 in all; the interrupted run stops after epoch 2, and is moved
    before it resumes (it wrote on into the folder it was started in)."""
    args = [*RESUME_ARGS, "--data", str(tiny_camvid)]
    assert train.main(args + ["--out", str(tmp_path / "whole")]) == 0
    assert train.main(args + ["--out", str(tmp_path / "started"), "--stop-after-steps", "4"]) == 0
    cut = (tmp_path / "started").rename(tmp_path / "cut")
    assert (cut / "state" / "state.safetensors").is_file() and not (cut / "last").exists()
    assert json.loads((cut / "state" / "state.json").read_text())["progress"]["step"] == 4

    assert train.main(["--resume", str(cut)]) == 0
    whole = json.loads((tmp_path / "whole" / "log.json").read_text())
    resumed = json.loads((cut / "log.json").read_text())
    assert [(r["epoch"], r["step"], r["lr"]) for r in resumed] == [(r["epoch"], r["step"], r["lr"]) for r in whole]
    assert resumed[-1]["step"] == 6 and not (tmp_path / "started").exists()
    # The data order, the dropout masks and the weight average continue where they were: the same weights.
    a = load_checkpoint(tmp_path / "whole" / "last").model.state_dict()
    b = load_checkpoint(cut / "last").model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in a)


def test_a_resumed_run_keeps_what_it_started_from_and_refuses_a_budget_it_never_had(tmp_path):
    """--init is history (config.json's "init"): it was dropped on resume, so a resumed run said it started from
    nothing; and a --budget-minutes given to a run that counts epochs was ignored without a word."""
    from segdemo.run_state import STATE_DIR

    run = tmp_path / "moved"
    (run / STATE_DIR).mkdir(parents=True)
    saved = vars(train.parse_args(["--model", "fcn8s_lite", "--init", "weights/fcn8s_lite", "--out", "runs/original",
                                   "--data", str(tmp_path)]))  # a folder that is here: a resume refuses data gone
    progress = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in saved.items()}}
    (run / STATE_DIR / "state.json").write_text(json.dumps({"progress": progress}))
    resumed = train.parse_args(["--resume", str(run)])
    assert resumed.out == run and str(resumed.init) == "weights/fcn8s_lite" and resumed.init_encoder is None
    with pytest.raises(SystemExit):
        train.parse_args(["--resume", str(run), "--budget-minutes", "30"])


def test_a_run_killed_between_renaming_its_states_resumes_from_the_previous_one(tmp_path):
    """Saving renames state/ to state.old/ and then state.partial/ to state/: killed between the two, only
    state.old/ was left, and the run said it had nothing to resume."""
    from segdemo.run_state import STATE_DIR, read_progress

    (tmp_path / f"{STATE_DIR}.old").mkdir()
    (tmp_path / f"{STATE_DIR}.old" / "state.json").write_text(json.dumps({"progress": {"step": 7}}))
    assert read_progress(tmp_path)["step"] == 7


def test_resume_without_a_saved_state_says_so(tmp_path):
    with pytest.raises(SystemExit, match=f"train: {tmp_path} has no saved training state .*: nothing to resume"):
        train.main(["--resume", str(tmp_path)])


def test_ctrl_c_lets_the_step_finish_saves_the_state_and_the_run_resumes_from_it(tiny_camvid, tmp_path):
    """Ctrl-C gave a traceback, and a run stopped before its first save (--save-minutes, 5) left nothing to resume.
    A real ``python -m segdemo.train``, sent SIGINT as a terminal sends it, once it has begun training."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    out = tmp_path / "run"
    args = [*RESUME_ARGS, "--data", str(tiny_camvid), "--epochs", "100000", "--val-every", "100000", "--out", str(out)]
    # Ctrl-C as in a terminal: the suite run in the background (nohup, CI) ignores SIGINT, and so would the run
    def as_in_a_terminal() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen([sys.executable, "-m", "segdemo.train", *args], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               preexec_fn=as_in_a_terminal)
    try:
        printed = []
        while not any("parameters" in line for line in printed):  # the model is built: it is training
            line = process.stdout.readline()
            assert line, "".join(printed) + process.stderr.read()
            printed.append(line)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=120)
    finally:
        process.kill()
    said = "".join(printed) + rest + errors
    assert process.returncode == 128 + signal.SIGINT, said
    assert "Traceback" not in said and "SIGINT: stopping after this step" in errors
    step = json.loads((out / "state" / "state.json").read_text())["progress"]["step"]
    assert step >= 1 and f"stopped at step {step} by SIGINT; continue with --resume {out}" in rest
    assert train.main(["--resume", str(out), "--stop-after-steps", str(step + 1)]) == 0
    assert json.loads((out / "state" / "state.json").read_text())["progress"]["step"] == step + 1


def test_a_second_signal_or_one_before_training_stops_at_once_in_one_line(tmp_path):
    import os
    import signal

    from segdemo.run_state import StopRequests

    started_with = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (see below)
    try:
        stops_at_once_in_one_line(tmp_path)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back
        # A run started in the background (nohup ... &) ignores the shell's Ctrl-C, and goes on ignoring it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with StopRequests(tmp_path) as stop:
            stop.training = True
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.1)
            assert not stop.requested and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, started_with)


def stops_at_once_in_one_line(tmp_path: Path) -> None:
    import os
    import signal

    from segdemo.run_state import StopRequests

    with StopRequests(tmp_path) as stop:  # loading data: nothing to keep, nothing to wait for
        with pytest.raises(SystemExit, match="stopped by SIGINT before training began; no state was saved"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.json").write_text(json.dumps({"progress": {"step": 12}}))
    with StopRequests(tmp_path) as stop:
        stop.training = True
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert stop.requested and stop.exit_code == 128 + signal.SIGTERM
        with pytest.raises(SystemExit, match=f"second SIGTERM; --resume {tmp_path} continues from step 12"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)


def test_an_out_folder_holding_another_run_is_refused_and_left_as_it_was(tiny_camvid, tmp_path):
    """A second run with the same --out (runs/MODEL by default) wrote over the first's logs and best weights."""
    out = tmp_path / "run"
    args = ["--model", "fcn_basic", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64",
            "--batch-size", "4", "--steps", "1", "--out", str(out)]
    assert train.main(args) == 0
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    with pytest.raises(SystemExit, match=f"train: {out} already holds a run \\(state, best, last, log.json\\): continue it "
                                         f"with --resume {out}, or give another --out"):
        train.main(args)
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_weights_and_states_are_as_readable_as_the_files_beside_them(tiny_camvid, tmp_path):
    """safetensors writes its files 0600: weights trained by one user could not be read by another, as in a
    container that runs as someone else."""
    import os

    previous = os.umask(0o022)
    try:
        args = [*RESUME_ARGS, "--data", str(tiny_camvid), "--out", str(tmp_path / "run"), "--stop-after-steps", "2"]
        assert train.main(args) == 0
    finally:
        os.umask(previous)
    for name in ("best/model.safetensors", "best/config.json", "state/state.safetensors", "state/state.json"):
        assert (tmp_path / "run" / name).stat().st_mode & 0o777 == 0o644, name


def test_held_out_sequences_and_excluded_frames_are_never_trained_on(tmp_path):
    from conftest import write_camvid_layout

    root = write_camvid_layout(tmp_path / "camvid", {"train": 6, "val": 2})
    listing = (root / "train.txt").read_text().splitlines()
    # frames 0-3 become sequence "0001TP", frames 4-5 "0006R0"
    renamed = []
    for index, line in enumerate(listing):
        sequence = "0001TP" if index < 4 else "0006R0"
        image, label = line.split()
        for old in (image, label):
            new = old.replace("train_", f"{sequence}_")
            (root / old).rename(root / new)
        renamed.append(f"{image.replace('train_', f'{sequence}_')} {label.replace('train_', f'{sequence}_')}")
    (root / "train.txt").write_text("\n".join(renamed) + "\n")

    images, _, sequences = train.load_frames(root, ["train"], ("0006R0",), (48, 64))
    assert len(images) == 4 and set(sequences) == {"0001TP"}
    out = tmp_path / "run"
    train.main(["--model", "fcn8s_lite", "--data", str(root), "--holdout", "0006R0", "--size", "32", "48",
                "--frame-size", "48", "64", "--batch-size", "2", "--steps", "2", "--out", str(out)])
    config = load_checkpoint(out / "best").config["training"]
    assert config["held_out"] == ["0006R0"] and config["frames"] == {"0001TP": 4}
    assert config["validated_on"] == "0006R0 (held out)"
    assert not any(isinstance(v, str) and v.startswith("/") for v in config.values())  # no build-machine paths

    # The shipped weights train on every frame but the app's bundled examples: single frames kept out by stem.
    images, _, sequences = train.load_frames(root, ["train"], (), (48, 64), ("0006R0_004",))
    assert len(images) == 5 and sequences.count("0006R0") == 1
    out = tmp_path / "every-frame"
    train.main(["--model", "fcn8s_lite", "--data", str(root), "--exclude-frames", "0006R0_005", "0006R0_004",
                "--class-weighting", "enet",
                "--size", "32", "48", "--frame-size", "48", "64", "--batch-size", "2", "--steps", "2",
                "--out", str(out)])
    config = load_checkpoint(out / "last").config["training"]
    assert config["held_out"] == [] and config["excluded_frames"] == ["0006R0_004", "0006R0_005"]
    assert config["frames"] == {"0001TP": 4}
    assert config["class_weighting"] == "enet" and max(config["class_weights"]) < 1 / math.log(1.02) + 1e-6


def test_a_step_whose_gradients_are_not_finite_changes_no_weight(tiny_camvid):
    """oneDNN's bf16 weight gradient of fc6 (a 7x7 kernel over a 2x2 map) is now and then NaN: one AdamW step spread
    it over all of fc6, every later step kept it, and the run saved NaN weights (the suite met it: 1 run in ~3)."""
    images, labels = first_frames(tiny_camvid, 2)
    model = build("fcn8s_lite").train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    hook = model.fc6.weight.register_hook(lambda grad: torch.full_like(grad, float("nan")))
    assert math.isnan(train.train_step(model, optimizer, images, labels, torch.ones(11)))
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())
    hook.remove()
    assert math.isfinite(train.train_step(model, optimizer, images, labels, torch.ones(11)))
    assert not torch.equal(model.fc6.weight, before["fc6.weight"]) and torch.isfinite(model.fc6.weight).all()


def test_a_run_logs_its_skipped_steps_and_gives_up_on_one_that_diverged(tiny_camvid, tmp_path, monkeypatch, capsys):
    step = train.train_step
    calls = []

    def second_step_not_finite(*args, **kwargs):
        calls.append(1)
        return float("nan") if len(calls) == 2 else step(*args, **kwargs)

    monkeypatch.setattr(train, "train_step", second_step_not_finite)
    args = ["--model", "fcn8s_lite", "--data", str(tiny_camvid), "--size", "48", "64", "--frame-size", "48", "64",
            "--batch-size", "2"]
    assert train.main([*args, "--steps", "3", "--out", str(tmp_path / "run")]) == 0
    history = json.loads((tmp_path / "run" / "log.json").read_text())
    # at least the step made NaN here (oneDNN's bf16 fc6 gradient on these 2x2 maps may add its own)
    assert sum(row["skipped_steps"] for row in history) >= 1
    assert "step 2: the loss or a gradient was not finite; the step was skipped" in capsys.readouterr().out

    monkeypatch.setattr(train, "train_step", lambda *args, **kwargs: float("nan"))
    with pytest.raises(SystemExit, match="20 steps in a row had a loss or gradient that was not finite"):
        train.main([*args, "--steps", "30", "--out", str(tmp_path / "diverged")])


def test_a_run_whose_data_has_moved_resumes_only_where_told(tiny_camvid, tmp_path, capsys):
    """Its data gone, a resumed run had quietly trained on on the default CamVid: other frames, other class weights."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_camvid, data)
    args = [*RESUME_ARGS, "--data", str(data), "--out", str(tmp_path / "run"), "--stop-after-steps", "2"]
    assert train.main(args) == 0
    data.rename(tmp_path / "moved")
    with pytest.raises(SystemExit):
        train.main(["--resume", str(tmp_path / "run")])
    assert f"the run's data {data} is not here: give --data, the folder its frames are in now" in capsys.readouterr().err
    assert train.main(["--resume", str(tmp_path / "run"), "--data", str(tmp_path / "moved")]) == 0
    assert json.loads((tmp_path / "run" / "log.json").read_text())[-1]["step"] == 6


def test_a_fine_tune_is_told_where_it_differs_from_the_checkpoint_it_starts_from(tiny_camvid, tmp_path, capsys):
    """--init carries the weights alone: a fine-tune of the shipped Bayesian SegNet without --dropout 0.2 and
    --serve-size 360 480 sampled at another rate and served at its crop size, without a word."""
    from segdemo.zoo import WEIGHTS_DIR

    shipped = WEIGHTS_DIR / "bayesian_segnet_lite"
    assert train.init_differences(shipped, "bayesian_segnet_lite", {"dropout": 0.2}, (360, 480)) == []
    args = ["--model", "bayesian_segnet_lite", "--init", str(shipped), "--data", str(tiny_camvid), "--size", "48", "64",
            "--frame-size", "48", "64", "--batch-size", "4", "--steps", "1", "--out", str(tmp_path / "run")]
    assert train.main(args) == 0
    printed = capsys.readouterr().out
    assert f"note: {shipped} was built with dropout 0.2; this run builds dropout 0.5 (--dropout 0.2 keeps it)" in printed
    assert (f"note: {shipped} serves at 360x480; this run validates and will serve at 48x64 (--serve-size 360 480 "
            "keeps it)") in printed
