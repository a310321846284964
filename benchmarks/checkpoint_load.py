"""What loading a checkpoint costs, and the share of it that the NaN/infinity check takes.

``segdemo.checkpoints.load_checkpoint`` refuses weights holding a NaN or an
infinity (a model with one answers NaN, or garbage). That check reads every
floating-point tensor once more. For each shipped checkpoint, this one run
times, median of ``--repeats`` after a warm-up:
- reading ``model.safetensors`` alone (the peer: what any loader pays);
- the finiteness check on what was read (``non_finite_tensors``);
- the whole ``load_checkpoint`` (config, file, check, building the network,
  loading the weights into it);
and prints the check's share of the whole. Timed at ``--threads`` torch
threads (2, as the Space's CPU runs; 1 isolates the check from a busy core).

    .venv/bin/python benchmarks/checkpoint_load.py --json benchmarks/results/checkpoint-load-cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reblend import median_ms  # noqa: E402  (the warm-up, then the median of the repeats, in ms)
from segdemo.checkpoints import WEIGHTS_NAME, load_checkpoint, non_finite_tensors  # noqa: E402

SHIPPED = ("fcn8s_lite", "bayesian_segnet_lite")


def measure(name: str, repeats: int) -> dict:
    directory = ROOT / "weights" / name
    state = load_file(str(directory / WEIGHTS_NAME))
    assert non_finite_tensors(state) == [], f"{name}: the shipped weights hold NaN or infinities"
    floats = [tensor for tensor in state.values() if tensor.is_floating_point()]
    return {
        "model": name,
        "megabytes": round((directory / WEIGHTS_NAME).stat().st_size / 2**20, 1),
        "parameters": sum(tensor.numel() for tensor in floats),
        "read_ms": median_ms(lambda: load_file(str(directory / WEIGHTS_NAME)), repeats),
        "finiteness_ms": median_ms(lambda: non_finite_tensors(state), repeats),
        "load_checkpoint_ms": median_ms(lambda: load_checkpoint(directory), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [measure(name, args.repeats) for name in SHIPPED]
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats}")
    print(f"{'model':<22}{'MB':>6}{'read ms':>9}{'check ms':>10}{'load ms':>9}{'check/load':>12}{'check/read':>12}")
    for row in rows:
        print(f"{row['model']:<22}{row['megabytes']:>6}{row['read_ms']:>9.1f}{row['finiteness_ms']:>10.1f}"
              f"{row['load_checkpoint_ms']:>9.1f}{row['finiteness_ms'] / row['load_checkpoint_ms']:>12.2f}"
              f"{row['finiteness_ms'] / row['read_ms']:>12.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"threads": args.threads, "repeats": args.repeats, "torch": torch.__version__,
                                         "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
