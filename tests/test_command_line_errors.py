"""The maintainer's commands answer a wrong path, split or sequence with one line saying what is wrong.

Not with a traceback: publish, evaluate and train are run by people following the README, and a stack of
frames hides the one line that tells them what to fix."""

from __future__ import annotations

import shutil

import pytest

from segdemo import evaluate, publish, train
from segdemo.zoo import WEIGHTS_DIR


def message(exit_info: pytest.ExceptionInfo, capsys) -> str:
    """What the command printed as its reason: SystemExit's text, or what argparse's exit wrote to stderr."""
    code = exit_info.value.code
    return code if isinstance(code, str) else capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "argv", "expected"),
    [
        (evaluate, ["--checkpoint", "{tmp}/nothing"],
         "evaluate: {tmp}/nothing is no folder: a checkpoint is a folder holding config.json"),
        (evaluate, ["--checkpoint", "{weights}", "--data", "{data}", "--split", "nosuch"], "evaluate: no split file"),
        (evaluate, ["--checkpoint", "{weights}", "--data", "{data}", "--split", "train", "--sequence", "nosuch"],
         "lists no frames of sequences ('nosuch',)"),
        (publish, ["--model", "nosuch", "--repo", "a/b", "--dry-run", "{tmp}/out"],
         "publish: --model 'nosuch' is no segdemo model: use one of"),
        (publish, ["--model", "fcn8s_lite", "--repo", "a/b", "--weights", "{tmp}/nothing", "--dry-run", "{tmp}/out"],
         "publish: {tmp}/nothing is no folder: a checkpoint is a folder holding config.json"),
        (publish, ["--model", "fcn8s_lite", "--repo", "a/b", "--weights", "{tmp}/no_eval", "--dry-run", "{tmp}/out"],
         "publish: {tmp}/no_eval has no eval.json: run python -m segdemo.evaluate"),
        (train, ["--model", "fcn8s_lite", "--data", "{tmp}/nothing", "--out", "{tmp}/run"], "train: no split file"),
        (train, ["--model", "fcn8s_lite", "--data", "{data}", "--holdout", "nosuch", "--out", "{tmp}/run"],
         "train: no split of {data} has frames of --holdout nosuch"),
        (train, ["--model", "fcn8s_lite", "--data", "{data}", "--init", "{tmp}/nothing", "--out", "{tmp}/run"],
         "train: --init {tmp}/nothing has no model.safetensors"),
        (train, ["--model", "fcn8s_lite", "--data", "{data}", "--batch-size", "99", "--out", "{tmp}/run"],
         "train: 8 training frames, fewer than --batch-size 99: give --batch-size 8 or less"),
        (train, ["--model", "fcn8s_lite", "--data", "{data}", "--aux-weight", "0.4", "--out", "{tmp}/run"],
         "train: --aux-weight: auxiliary heads need a SegNet decoder"),
        (train, ["--resume", "{tmp}/nothing"], "train: {tmp}/nothing has no saved training state"),
    ],
)
def test_a_wrong_input_gets_one_line_that_says_what_is_wrong(command, argv, expected, tiny_camvid, tmp_path, capsys):
    no_eval = tmp_path / "no_eval"
    shutil.copytree(WEIGHTS_DIR / "fcn8s_lite", no_eval, ignore=shutil.ignore_patterns("eval*.json"))
    places = {"tmp": str(tmp_path), "weights": str(WEIGHTS_DIR / "fcn8s_lite"), "data": str(tiny_camvid)}
    with pytest.raises(SystemExit) as exit_info:
        command.main([part.format(**places) for part in argv])
    said = message(exit_info, capsys)
    assert expected.format(**places) in said and "Traceback" not in said and said.count("\n") <= 1
    assert not (tmp_path / "out").exists()  # publish wrote nothing half-way
    assert not (tmp_path / "run").exists()  # nor train: no empty run folder left behind
