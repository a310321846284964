"""CamVid mIoU (on frames held out of training) against CPU latency for every network we trained, peers' latency marked: ``docs/accuracy_latency.png``.

    python benchmarks/speed.py --json benchmarks/results/speed-cpu.json
    python benchmarks/tradeoff.py

Accuracy comes from each checkpoint's ``eval.json`` (``python -m
segdemo.evaluate``); for networks we trained but do not ship, from the copy
kept in ``benchmarks/results/``. Latency is the bare forward pass as served
for a 480x360 picture (``speed.py``), and the whole request over Gradio's
HTTP API where it was measured. The peers (torchvision's fcn_resnet50 and the
paper-size SegNet and FCN-8s) were not trained here, so only their latency is
drawn, as vertical lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from segdemo.zoo import DEFAULT_MODEL  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def points(speed: dict) -> list[dict]:
    """(name, mIoU, forward ms, request ms or None) for every trained network and sampling setting."""
    shipped = {(r["model"], r["samples"]): r for r in speed["networks"]["shipped"] if r["picture"] == "480x360"}
    requests = {(r["model"], r["samples"]): r for r in (speed.get("server") or {}).get("requests", []) if r["picture"] == "480x360"}
    out = []
    for (model, samples), row in sorted(shipped.items()):
        evaluation = json.loads((ROOT / "weights" / model / "eval.json").read_text())
        if evaluation.get("samples", 1) != samples:
            extra = RESULTS / f"{model}_eval_T{samples}.json"
            if not extra.is_file():
                continue
            evaluation = json.loads(extra.read_text())
        request = requests.get((model, samples))
        out.append({
            "name": model + (f", T={samples}" if samples > 1 else (", dropout off" if "bayesian" in model else "")),
            "miou": 100 * evaluation["mean_iou"], "forward_ms": row["served_ms"],
            "request_ms": request["http_ms"] if request else None, "shipped": True,
        })
    for row in speed["networks"]["peers"]:
        name = row["model"].split(" ")[0]
        extra = RESULTS / f"{name}_eval.json"
        if extra.is_file():
            out.append({"name": f"{name} (trained, not shipped)", "miou": 100 * json.loads(extra.read_text())["mean_iou"],
                        "forward_ms": row.get("served_ms", row["plain_ms"]), "request_ms": None, "shipped": False})
    return out


def frames_measured() -> str:
    """The frames the shipped models' figures come from (their eval.json and config say)."""
    from segdemo.checkpoints import load_checkpoint, measured_frames

    folder = ROOT / "weights" / DEFAULT_MODEL
    return measured_frames(json.loads((folder / "eval.json").read_text()), load_checkpoint(folder).config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=Path, default=RESULTS / "speed-cpu.json")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "accuracy_latency.png")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    speed = json.loads(args.speed.read_text())
    trained = points(speed)
    peers = [r for r in speed["networks"]["peers"] if not (RESULTS / f"{r['model'].split(' ')[0]}_eval.json").is_file()]
    fig, ax = plt.subplots(figsize=(8.5, 5), dpi=120)
    ax.set_xscale("log")
    ax.set_xlim(8, 2000)
    low = min(p["miou"] for p in trained)
    ax.set_ylim(low - 2.5, max(p["miou"] for p in trained) + 2.5)
    for index, point in enumerate(sorted(trained, key=lambda p: p["forward_ms"])):
        colour = "tab:blue" if point["name"].startswith("fcn") else "tab:orange"
        ax.scatter(point["forward_ms"], point["miou"], s=60, color=colour, marker="o" if point["shipped"] else "s", zorder=3)
        label = point["name"] + (" (the default)" if point["name"] == DEFAULT_MODEL else "")
        ax.annotate(label, (point["forward_ms"], point["miou"]), textcoords="offset points",
                    xytext=(6, 8 if index % 2 == 0 else -14), fontsize=8)
        if point["request_ms"]:
            ax.scatter(point["request_ms"], point["miou"], s=60, facecolors="none", edgecolors=colour, zorder=3)
            ax.plot([point["forward_ms"], point["request_ms"]], [point["miou"]] * 2, color=colour, lw=0.8, ls=":")
    top = ax.get_ylim()[1]
    for row in peers:
        ax.axvline(row["plain_ms"], color="grey", lw=1, ls="--")
        ax.text(row["plain_ms"] * 1.04, top - 0.2, f"{row['model']}: {row['plain_ms']:.0f} ms (latency only)",
                rotation=90, fontsize=7, color="dimgrey", va="top")
    ax.set_xticks([10, 20, 50, 100, 200, 500, 1000])
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_xlabel(f"CPU latency, ms ({speed['environment']['threads']} threads, 480x360 picture): "
                  "filled = network, hollow = whole request (HTTP)")
    ax.set_ylabel(f"CamVid mIoU (%): {frames_measured()}", fontsize=8)
    ax.set_title("Accuracy against latency: the networks trained here, and their peers", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")
    for point in trained:
        request = f", request {point['request_ms']:.0f} ms" if point["request_ms"] else ""
        print(f"{point['name']}: mIoU {point['miou']:.1f}, forward {point['forward_ms']:.0f} ms{request}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
