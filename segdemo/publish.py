"""Publish a trained checkpoint to the Hugging Face Hub, with a model card.

    python -m segdemo.publish --model bayesian_segnet_lite --repo OWNER/bayesian-segnet-lite-camvid
    python -m segdemo.publish --model fcn8s_lite --repo OWNER/fcn8s-lite-camvid --dry-run out/fcn8s_lite

Uploads ``config.json``, ``model.safetensors`` and a generated ``README.md``
(YAML metadata: library, tags, dataset, licence, and a model-index block with
the measured CamVid figures from ``eval.json``, with the frames they were measured on; a text that says how to
install segdemo from the Space, ``--space``, and segment a picture with these weights in Python, and how calibrated
their confidence is), then prints the commit to pin in ``segdemo/zoo.py``. ``--dry-run DIR`` writes the exact folder it
would upload and uploads nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

from .checkpoints import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    measured_frames,
    measured_training,
)
from .hub import UPLOAD_ERRORS, add_timeout_option, bound_hub_timeouts, describe_upload_failure, sha256_of
from .captions import calibration_line
from .inference import DEFAULT_SAMPLES
from .models import MODELS, count_parameters, is_bayesian
from .zoo import WEIGHTS_DIR

LICENSE = "mit"
CARD_TEMPLATE = """
# {title}

{description}, {origin} on CamVid (11 road-scene classes, 360x480)
by the segdemo project, a Gradio Space that compares FCN and SegNet.

- **Parameters:** {parameters:,}
- **Working resolution:** {width}x{height} (pictures are resized keeping their aspect; results map back to the original size)
- **Classes:** {classes}
- **Format:** `config.json` + `model.safetensors` (no pickles), read by segdemo: the network's code is there, not here.
{bayesian}
## How to use

Try it in the Space, [{space}](https://huggingface.co/spaces/{space}), or in your own Python: segdemo installs from
the Space's repository (`[app]` adds what the app, training and evaluation need).

```bash
pip install "segdemo @ git+https://huggingface.co/spaces/{space}"
```

```python
from huggingface_hub import snapshot_download
from segdemo.checkpoints import load_checkpoint
from segdemo.inference import predict

checkpoint = load_checkpoint(snapshot_download("{repo_id}"))  # revision="<commit>" pins a copy
result = predict("street.jpg", checkpoint)
names = checkpoint.config["class_names"]
for index, share in result.class_shares()[:3]:
    print(f"{{names[index]}}: {{share:.0%}} of the picture")
print(f"{{result.confidence.mean():.0%}} sure on average")
```

`predict` does what the Space does:

- it resizes the picture to the working resolution and runs the network at the scales its figures were measured
  at ({scales});
- it {predict_does};
- it returns maps at the picture's size (2048 pixels on the long side at most; `max_output_side=` for more):
  `labels` (class indices into `names`), `probabilities`, `confidence`, `entropy`{mutual_information} and
  `boundary`: the band along the predicted class boundaries, where the uncertainty is measured against the
  interior (`boundary.ratio`).

It takes one picture a call: a path, a PIL image or a numpy array, any mode (16-bit, float, transparent, EXIF-rotated
ones are brought to upright 8-bit RGB as the Space does). `checkpoint.config["palette"]` holds CamVid's colour of
each class, in the order of `names`: `segdemo.visualize.class_map(result.labels, checkpoint.config["palette"])` is
the labels as a palette image, CamVid's colours shown and the class indices kept when saved as PNG.

## Confidence

{confidence}

## CamVid figures

Measured {measured_how} against the full-resolution labels of CamVid {frames} (void pixels ignored).

| global accuracy | class accuracy | mIoU | BF score |
|---|---|---|---|
| {global_accuracy:.1f} | {class_accuracy:.1f} | {mean_iou:.1f} | {boundary_f1:.1f} |

| class | IoU |
|---|---|
{per_class}

## Training

`python -m segdemo.train --model {name} ...` with {class_weighting}, AdamW and joint image/mask
augmentation; see `training` in `config.json` for the exact settings.

CamVid: Brostow, Fauqueur, Cipolla, "Semantic object classes in video: A high-definition ground truth
database", Pattern Recognition Letters 2009 (research use).
"""


CLASS_WEIGHTING_WORDS = {
    "median-frequency": "median-frequency class balancing (SegNet's)",
    "enet": "ENet's class weights, 1/ln(1.02 + p)",
    "espnet": "ESPNet's class weights, 1/ln(1.10 + p)",
    "none": "plain cross-entropy (no class weights)",
}


def _measured_how(name: str, evaluation: dict[str, Any]) -> str:
    """The command behind eval.json's figures: on these weights, or on their twin run, which held the frames out."""
    sequences = evaluation.get("sequences") or []
    frames = f"--split {evaluation['split']}" + (f" --sequence {' '.join(sequences)}" if sequences else "")
    if evaluation.get("measured_on") == "twin":
        return (f"on its twin (a run of the same schedule that held these frames out; these weights trained on "
                f"them) with `python -m segdemo.evaluate --checkpoint TWIN {frames}`")
    return f"with `python -m segdemo.evaluate --checkpoint weights/{name} {frames}`"


def _split_measured(evaluation: dict[str, Any], config: dict[str, Any]) -> str:
    """The split named in the model-index: the held-out sequence when the figures come from one, else the split."""
    sequences = evaluation.get("sequences") or []
    held_out = set(measured_training(evaluation, config).get("held_out") or [])
    return "+".join(sequences) if sequences and set(sequences) <= held_out else evaluation["split"]


EVAL_FIGURES = ("global_accuracy", "class_accuracy", "mean_iou", "boundary_f1")  # shares in [0, 1]


def _is_share(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 <= value <= 1


def _evaluation_problem(evaluation: Any) -> str | None:
    """What eval.json lacks of what the card shows, or None."""
    if not isinstance(evaluation, dict):
        return "is not a JSON object"
    missing = [k for k in ("architecture", "split", "images", "class_names", "per_class_iou", *EVAL_FIGURES)
               if k not in evaluation]
    if missing:
        return f"lacks {', '.join(missing)}"
    bad = [k for k in EVAL_FIGURES if not _is_share(evaluation[k])]
    if bad:
        return f"has no figure between 0 and 1 for {', '.join(bad)}"
    names, ious = evaluation["class_names"], evaluation["per_class_iou"]
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names) and isinstance(ious, list)
            and len(ious) == len(names) and all(iou is None or _is_share(iou) for iou in ious)):
        return "has no per-class IoU for each of its class_names"
    sequences = evaluation.get("sequences") or []
    if not (isinstance(evaluation["split"], str) and isinstance(evaluation["images"], int)
            and isinstance(sequences, list) and all(isinstance(q, str) for q in sequences)):
        return "does not say which frames it measured (split, sequences, images)"
    return None


def read_evaluation(folder: Path, architecture: str) -> dict[str, Any]:
    """``folder/eval.json``, refused unless it holds every figure the card shows and measured this architecture:
    the card puts its figures beside these weights, so figures of other weights would be published as theirs."""
    path = folder / "eval.json"
    again = f"run python -m segdemo.evaluate --checkpoint {folder}"
    if not path.is_file():  # the card's figures come from it
        raise CheckpointError(f"{folder} has no eval.json: {again} first")
    try:
        evaluation = json.loads(path.read_text())
    except (ValueError, RecursionError) as error:  # ValueError: bad JSON or bad UTF-8
        raise CheckpointError(f"{path} is not valid JSON: {again} again") from error
    problem = _evaluation_problem(evaluation)
    if problem:
        raise CheckpointError(f"{path} {problem}: {again} again")
    if evaluation["architecture"] != architecture:
        raise CheckpointError(f"{path} measured a {evaluation['architecture']!r} model, not this {architecture} "
                              f"checkpoint: {again} again")
    return evaluation


def checked_checkpoint(name: str, folder: Path) -> Checkpoint:
    """The checkpoint in ``folder``, refused unless it is the ``name`` model (--model) the card will describe."""
    if name not in MODELS:
        raise CheckpointError(f"--model {name!r} is no segdemo model: use one of {', '.join(sorted(MODELS))}")
    checkpoint = load_checkpoint(folder)
    if checkpoint.name != name:
        raise CheckpointError(f"{folder} holds a {checkpoint.name} checkpoint, not the {name} that --model names")
    return checkpoint


def _origin(config: dict[str, Any]) -> str:
    """Where the weights' first phase started: from scratch, or from another checkpoint (a fine-tune)."""
    training = config.get("training") or {}
    first = (training.get("earlier_phases") or [training])[0]
    start = first.get("init") or first.get("init_encoder")
    return f"fine-tuned from `{start}`" if start else "trained from scratch"


def _stale_calibration(evaluation: dict[str, Any], config: dict[str, Any], path: Path) -> str | None:
    """Why eval.json's calibration figures are not of these weights as served, or None: a temperature fitted (or
    refitted) after the evaluation would be published beside figures measured without it."""
    served = config.get("temperature")
    measured = (evaluation.get("calibration") or {}).get("temperature")
    if served is None or measured is None or abs(float(served) - float(measured)) < 1e-6:
        return None
    return (f"{path} measured these weights at temperature {measured:g}, but config.json serves {served:g}: "
            f"run python -m segdemo.evaluate --checkpoint {path.parent} again")


def default_space(repo_id: str) -> str:
    """The Space the card links and installs segdemo from, unless --space names another: the owner's "segdemo"."""
    return f"{repo_id.split('/')[0]}/segdemo"


def _what_predict_does(checkpoint: Checkpoint) -> str:
    """The card's words for what ``predict`` does between the network and the maps, from config.json."""
    temperature = checkpoint.config.get("temperature")
    if not is_bayesian(checkpoint.model):
        averaged = "averages the scales' scores" if len(checkpoint.test_scales) > 1 else "takes the network's scores"
        if temperature is None:
            return f"{averaged} into class probabilities (no temperature was fitted: the network's own softmax)"
        return (f"{averaged} and divides them by the temperature in `config.json` ({temperature:.2f}) before the "
                "softmax: the confidence is calibrated (below)")
    samples = (f"averages {DEFAULT_SAMPLES} Monte-Carlo dropout samples, half of them on the mirror image "
               "(`samples=` and `seed=` choose them: the same seed, the same answer)")
    if temperature is None:
        return samples + " (no temperature was fitted: the network's own softmax)"
    where = ("their averaged probabilities" if checkpoint.temperature_scope == "averaged"
             else "each sample's scores")
    return f"{samples}, and tempers {where} with the temperature in `config.json` ({temperature:.2f}): the " \
           "confidence is calibrated (below)"


def model_card(name: str, folder: Path, repo_id: str, space: str | None = None) -> ModelCard:
    """The README.md of a published checkpoint: YAML metadata plus a human summary, and how to use it from Python."""
    checkpoint = checked_checkpoint(name, folder)
    config = checkpoint.config
    evaluation = read_evaluation(folder, checkpoint.name)
    stale = _stale_calibration(evaluation, config, folder / "eval.json")
    if stale:
        raise CheckpointError(stale)
    metrics = {
        "mean_iou": ("mean_iou", "mIoU"),
        "global_accuracy": ("accuracy", "global accuracy"),
        "class_accuracy": ("mean_accuracy", "class average accuracy"),
        "boundary_f1": ("bf_score", "BF score"),
    }
    eval_results = [
        EvalResult(
            task_type="image-segmentation",
            task_name="Semantic Segmentation",
            dataset_type="camvid",
            dataset_name="CamVid (11 classes, 360x480)",
            dataset_split=_split_measured(evaluation, config),
            metric_type=metric_type,
            metric_name=metric_name,
            metric_value=round(100 * float(evaluation[key]), 2),
        )
        for key, (metric_type, metric_name) in metrics.items()
    ]
    data = ModelCardData(
        library_name="segdemo",
        license=LICENSE,
        tags=["semantic-segmentation", "image-segmentation", "camvid", MODELS[name].family.lower(), "safetensors"],
        datasets=["camvid"],
        pipeline_tag="image-segmentation",
        metrics=["mean_iou", "accuracy", "mean_accuracy", "bf_score"],
        model_name=repo_id.split("/")[-1],
        eval_results=eval_results,
    )
    per_class = "\n".join(
        f"| {cls} | {'n/a' if iou is None else f'{100 * iou:.1f}'} |"
        for cls, iou in zip(evaluation["class_names"], evaluation["per_class_iou"])
    )
    bayesian = ""
    if config["model_kwargs"].get("dropout"):
        bayesian = (
            f"- **Bayesian:** dropout p={config['model_kwargs']['dropout']} stays on at test time; average several "
            f"forward passes (Monte-Carlo dropout) for the prediction and its mutual information. The figures below use "
            f"{evaluation.get('samples', 1)} samples.\n"
        )
    h, w = config["input_size"]
    text = CARD_TEMPLATE.format(
        title=repo_id.split("/")[-1],
        description=MODELS[name].description,
        origin=_origin(config),
        parameters=count_parameters(checkpoint.model),
        width=w,
        height=h,
        classes=", ".join(config["class_names"]),
        bayesian=bayesian,
        name=name,
        measured_how=_measured_how(name, evaluation),
        class_weighting=CLASS_WEIGHTING_WORDS.get((config.get("training") or {}).get("class_weighting", ""),
                                                  "class weights"),
        frames=measured_frames(evaluation, config),
        global_accuracy=100 * evaluation["global_accuracy"],
        class_accuracy=100 * evaluation["class_accuracy"],
        mean_iou=100 * evaluation["mean_iou"],
        boundary_f1=100 * evaluation["boundary_f1"],
        per_class=per_class,
        space=space or default_space(repo_id),
        repo_id=repo_id,
        scales=", ".join(f"{scale:g}" for scale in checkpoint.test_scales),
        predict_does=_what_predict_does(checkpoint),
        mutual_information=(", `mutual_information` (where the dropout samples disagree)"
                            if is_bayesian(checkpoint.model) else ""),
        confidence=calibration_line(config, evaluation) + " ECE: the expected calibration error, confidence in 15 "
        "equal-width bins, void pixels excluded.",
    )
    return ModelCard.from_template(data, template_str="---\n{{ card_data }}\n---\n" + text)


def prepare_folder(name: str, repo_id: str, out: Path, weights: Path | None = None, space: str | None = None) -> Path:
    """Write exactly what would be uploaded: config.json, model.safetensors, README.md."""
    source = weights or WEIGHTS_DIR / name
    card = model_card(name, source, repo_id, space)  # first: it refuses a checkpoint that does not load, before any copy
    out.mkdir(parents=True, exist_ok=True)
    for filename in (CONFIG_NAME, WEIGHTS_NAME):
        shutil.copyfile(source / filename, out / filename)
    card.save(out / "README.md")
    return out


def publish(api: HfApi, name: str, repo_id: str, weights: Path | None = None, private: bool = False,
            space: str | None = None) -> dict[str, dict]:
    """Create the model repo if missing and upload the checkpoint with its card, in one commit.

    Returns the zoo entry that pins it: ``{name: {"repo_id", "revision", "sha256"}}``, the format of a
    SEGDEMO_ZOO file and of ``ZooEntry``'s fields."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = prepare_folder(name, repo_id, Path(tmp), weights, space)
        api.create_repo(repo_id, repo_type="model", private=private or None, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=f"Publish {name} from segdemo")
        digest = sha256_of(folder / WEIGHTS_NAME)
    return {name: {"repo_id": repo_id, "revision": commit.oid, "sha256": digest}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a folder name in weights/ (e.g. bayesian_segnet_lite)")
    parser.add_argument("--repo", required=True, help="Hub model repo, OWNER/NAME (created if missing)")
    parser.add_argument("--weights", type=Path, help="checkpoint folder (default: weights/MODEL)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the folder to DIR and upload nothing")
    parser.add_argument("--space", help="the Space the card links and installs segdemo from, OWNER/NAME "
                        "(default: the repo's owner's segdemo)")
    parser.add_argument("--private", action="store_true")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    parser.add_argument("--endpoint", help="Hub endpoint (default: HF_ENDPOINT or huggingface.co)")
    add_timeout_option(parser)
    args = parser.parse_args(argv)

    try:
        if args.dry_run:
            folder = prepare_folder(args.model, args.repo, args.dry_run, args.weights, args.space)
            print(f"wrote {folder}: " + ", ".join(sorted(p.name for p in folder.iterdir())))
            print(f"sha256 of {WEIGHTS_NAME}: {sha256_of(folder / WEIGHTS_NAME)}")
            return 0
        bound_hub_timeouts(args.timeout)
        api = HfApi(endpoint=args.endpoint, token=args.token)
        pin = publish(api, args.model, args.repo, args.weights, private=args.private, space=args.space)
    except CheckpointError as error:
        raise SystemExit(f"publish: {error}") from None
    except UPLOAD_ERRORS as error:
        reason = describe_upload_failure(error, args.repo)
        raise SystemExit(f"could not publish {args.model} to {args.repo}: {reason}") from None
    print(f"published {args.model} to {args.repo} at commit {pin[args.model]['revision']}")
    print("pin it in segdemo/zoo.py (or your SEGDEMO_ZOO file):")
    print(json.dumps(pin, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
