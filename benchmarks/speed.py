"""Speed of the shipped models against their peers, measured in one run: ``python benchmarks/speed.py``.

For each shipped model, on a 480x360 bundled CamVid frame (as a click on an example sends it; the server recognises
it and draws its error map) and a 12-megapixel photo (that frame mirrored and upscaled, which it does not recognise):
- the bare forward pass (median of repeated runs after warm-up) at the
  model's working resolution, plain and as served (batch norm folded,
  channels-last), with its multiply-accumulate count;
- for the Bayesian model, T=8 Monte-Carlo samples (half of them on the
  mirror image, as served, and all on the picture, for the cost of the
  second stem pass) and the cost of each extra sample as a fraction of a
  full pass (the stem before the first dropout runs once per view);
- the whole request through the real Gradio server: the handler alone,
  Gradio's HTTP API as a browser or curl uses it (upload, call, events,
  download every picture), and gradio_client; each against the bare forward.
Peers measured in the same run at the same network input: torchvision's
``fcn_resnet50`` (random weights: timing only), the paper-size SegNet and
FCN-8s, and every other network we trained. Also the server's cold start
(process start until the first answer) and its peak resident memory.

``--json FILE`` keeps the figures; ``benchmarks/tradeoff.py`` plots them.

``--device cuda`` measures the same on a GPU, in the same run against
torchvision's ``fcn_resnet50`` on that GPU: "as served" is then what the
server does there (half-precision autocast, channels-last; ``segdemo.devices``),
the peer is timed both plain and that way, throughput (pictures per second
at batch 1, 8 and 32) is added, and the server is started with
``SEGDEMO_DEVICE=cuda``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from segdemo.checkpoints import load_checkpoint  # noqa: E402
from segdemo.devices import describe_device, serving_autocast  # noqa: E402
from segdemo.inference import class_probabilities, prepare_for_inference, working_size  # noqa: E402
from segdemo.models import build, count_macs, is_bayesian  # noqa: E402
from segdemo.zoo import DEFAULT_MODEL, DEFAULT_SEGNET, WEIGHTS_DIR, ZOO  # noqa: E402

PICTURES = {"480x360": (360, 480), "12MP 4000x3000": (3000, 4000)}
SAMPLES = 8
BATCHES = (1, 8, 32)  # throughput on a GPU


def median_seconds(fn, repeats: int, warmup: int = 2, device: torch.device | None = None) -> float:
    """Median wall time of ``fn``; on a GPU each call is waited for, so the time is the work's, not its launch."""
    def run() -> None:
        fn()
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@torch.no_grad()
def forward_seconds(
    model: torch.nn.Module,
    size: tuple[int, int],
    repeats: int,
    samples: int = 1,
    served: bool = False,
    batch: int = 1,
    mirror: bool = True,
    scales: tuple[float, ...] = (1.0,),
) -> float:
    """Class probabilities of a random batch; ``served``: channels-last input, and on a GPU the server's autocast.

    ``scales``: the checkpoint's test scales, each another pass (``segdemo.inference``).
    """
    device = next(model.parameters()).device
    x = torch.randn(batch, 3, *size, device=device)
    if served:
        x = x.contiguous(memory_format=torch.channels_last)
    model.eval()
    precision = serving_autocast(device) if served else contextlib.nullcontext()

    def run() -> None:
        with precision:
            class_probabilities(model, x, samples=samples, seed=0, mirror=mirror, scales=scales)

    return median_seconds(run, repeats, device=device)


class TorchvisionOut(torch.nn.Module):
    """torchvision's segmentation models return {"out": scores}; time them like ours."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


def proc_status_mb(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def environment(threads: int, device: torch.device) -> dict[str, str]:
    import gradio
    import gradio_client

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    return {
        "device": describe_device(device) if device.type == "cuda" else f"CPU: {cpu}, {os.cpu_count()} cores",
        "threads": str(threads),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gradio": gradio.__version__,
        "gradio_client": gradio_client.__version__,
    }


def measure_networks(repeats: int, device: torch.device) -> dict:
    """Bare forward passes of the shipped models, the networks we trained and the peers, on ``device``."""
    out: dict = {"shipped": [], "peers": [], "mc": {}}
    for name in ZOO:
        checkpoint = load_checkpoint(WEIGHTS_DIR / name)
        plain = checkpoint.model
        served = prepare_for_inference(copy.deepcopy(plain)).to(device)  # as segdemo.zoo serves it
        plain.to(device)
        scales = checkpoint.test_scales  # "as served" runs all of them; "plain" is one pass of the bare network
        for label, (h, w) in PICTURES.items():
            size = working_size(h, w, checkpoint.input_size)
            row = {
                "model": name, "picture": label, "input": f"{size[1]}x{size[0]}",
                "gmac": count_macs(plain, size) / 1e9,
                "plain_ms": 1000 * forward_seconds(plain, size, repeats),
                "served_ms": 1000 * forward_seconds(served, size, repeats, served=True, scales=scales),
                "samples": 1,
                "scales": list(scales),
            }
            out["shipped"].append(row)
            if is_bayesian(plain):
                out["shipped"].append({
                    **row, "samples": SAMPLES,
                    "plain_ms": 1000 * forward_seconds(plain, size, repeats, samples=SAMPLES),
                    "served_ms": 1000 * forward_seconds(served, size, repeats, samples=SAMPLES, served=True, scales=scales),
                })
        if is_bayesian(plain):
            size = working_size(360, 480, checkpoint.input_size)
            two = forward_seconds(served, size, repeats, samples=2, served=True)
            eight = forward_seconds(served, size, repeats, samples=SAMPLES, served=True)
            one = forward_seconds(served, size, repeats, served=True)
            unmirrored = forward_seconds(served, size, repeats, samples=SAMPLES, served=True, mirror=False)
            # the sampling costs above are at one scale; the served T=8 at every test scale besides
            at_scales = forward_seconds(served, size, repeats, samples=SAMPLES, served=True, scales=scales)
            out["mc"] = {"model": name, "one_pass_ms": 1000 * one, "t8_ms": 1000 * eight,
                         "t8_unmirrored_ms": 1000 * unmirrored, "scales": list(scales),
                         "t8_at_scales_ms": 1000 * at_scales,
                         "extra_sample_ms": 1000 * (eight - two) / (SAMPLES - 2),
                         "extra_sample_fraction": (eight - two) / (SAMPLES - 2) / one,
                         "naive_t8_ms": 1000 * SAMPLES * one}

    from torchvision.models.segmentation import fcn_resnet50

    # the input the shipped Bayesian SegNet sees of a 480x360 picture: peers are timed at exactly that
    size = working_size(360, 480, load_checkpoint(WEIGHTS_DIR / DEFAULT_SEGNET).input_size)
    peers = {
        "segnet_lite (plain twin of the shipped Bayesian model)": build("segnet_lite"),
        "torchvision fcn_resnet50": TorchvisionOut(fcn_resnet50(weights=None, weights_backbone=None, num_classes=11, aux_loss=False)),
        "SegNet (paper size)": build("segnet"),
        "FCN-8s (paper size)": build("fcn8s"),
    }
    for name, model in peers.items():
        model.to(device)
        row = {"model": name, "picture": "480x360", "input": f"{size[1]}x{size[0]}", "gmac": count_macs(model, size) / 1e9}
        row["plain_ms"] = 1000 * forward_seconds(model, size, max(3, repeats // 2))
        if not name.startswith("torchvision"):
            row["served_ms"] = 1000 * forward_seconds(prepare_for_inference(model), size, max(3, repeats // 2), served=True)
        elif device.type == "cuda":  # on a GPU, also the peer at the server's precision and layout
            row["served_ms"] = 1000 * forward_seconds(model.to(memory_format=torch.channels_last), size,
                                                      max(3, repeats // 2), served=True)
        out["peers"].append(row)
        model.cpu()
    if device.type == "cuda":
        out["throughput"] = measure_throughput(repeats, device, peers["torchvision fcn_resnet50"])
    return out


def measure_throughput(repeats: int, device: torch.device, resnet: torch.nn.Module) -> list[dict]:
    """Pictures per second through the network alone, batched, as served on ``device`` (480x360 pictures)."""
    rows = []
    size = working_size(360, 480, load_checkpoint(WEIGHTS_DIR / DEFAULT_SEGNET).input_size)
    models = {name: prepare_for_inference(load_checkpoint(WEIGHTS_DIR / name).model).to(device) for name in ZOO}
    models["torchvision fcn_resnet50"] = resnet.to(device).to(memory_format=torch.channels_last)
    for name, model in models.items():
        for batch in BATCHES:
            samples = SAMPLES if is_bayesian(model) else 1
            seconds = forward_seconds(model, size, repeats, samples=samples, served=True, batch=batch)
            rows.append({"model": name, "batch": batch, "samples": samples, "ms": 1000 * seconds,
                         "pictures_per_s": batch / seconds})
    resnet.cpu()
    return rows


def pictures(folder: Path) -> dict[str, Path]:
    source = Image.open(sorted((ROOT / "examples").glob("*.jpg"))[0]).convert("RGB")
    files = {"480x360": folder / "small.png", "12MP 4000x3000": folder / "big.jpg"}
    source.save(files["480x360"])  # a bundled frame, as an example's click sends it: its error map is drawn too
    # a visitor's photo: the frame mirrored, so that the server does not recognise it as a bundled frame and score
    # it against its labels at 2048x1536 (0.6-0.9 s more, which a photo never costs)
    source.transpose(Image.FLIP_LEFT_RIGHT).resize((4000, 3000), Image.BICUBIC).save(files["12MP 4000x3000"], quality=90)
    return files


def start_server(files: dict[str, Path], device: torch.device):
    """``python app.py`` on ``device``, timed until its first answer: (process, url, http, log, seconds, served on)."""
    from conftest import free_port
    from http_api import GradioHTTP

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "SEGDEMO_DEVICE": device.type}
    log = open(tempfile.mkstemp(prefix="segdemo-speed-", suffix=".log")[1], "w")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    http = GradioHTTP(url)
    while True:  # the first answer a visitor could get: default model, default settings
        if process.poll() is not None or time.perf_counter() - started > 120:
            process.kill()
            log.flush()
            raise RuntimeError(f"app.py did not start:\n{Path(log.name).read_text()[-3000:]}")
        try:
            outputs = http.call("segment", [http.upload(files["480x360"]), DEFAULT_MODEL, 0.55, SAMPLES, 0])
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    return process, url, http, log, time.perf_counter() - started, outputs[7]["device"]


def stop_server(process: subprocess.Popen, http, log) -> None:
    http.close()
    process.terminate()
    process.wait(timeout=15)
    log.close()
    os.unlink(log.name)


def measure_server(repeats: int, files: dict[str, Path], device: torch.device, cold_starts: int = 1) -> dict:
    """Cold start (median of ``cold_starts``), then every shipped model on both pictures through the real server."""
    from gradio_client import Client, handle_file
    from http_api import client_downloads

    starts = []
    for _ in range(cold_starts - 1):  # the extra starts only time the first answer
        process, _, http, log, seconds, _ = start_server(files, device)
        stop_server(process, http, log)
        starts.append(seconds)
    process, url, http, log, seconds, served_on = start_server(files, device)
    starts.append(seconds)
    result: dict = {"cold_start_s": statistics.median(starts), "cold_starts_s": starts, "served_on": served_on,
                    "requests": []}
    try:
        client = Client(url, verbose=False, download_files=client_downloads())
        for name in ZOO:
            samples = SAMPLES if is_bayesian(load_checkpoint(WEIGHTS_DIR / name).model) else 1
            for label, path in files.items():
                handler: list[float] = []

                def by_http() -> None:
                    outputs = http.call("segment", [http.upload(path), name, 0.55, samples, 0])
                    handler.append(outputs[7]["handler_seconds"])

                http_s = median_seconds(by_http, repeats, warmup=1)  # the server synchronises its GPU itself
                client_s = median_seconds(
                    lambda: client.predict(handle_file(str(path)), name, 0.55, samples, 0, api_name="/segment"),
                    repeats, warmup=1,
                )
                result["requests"].append({"model": name, "picture": label, "samples": samples,
                                           "handler_ms": 1000 * statistics.median(handler),
                                           "http_ms": 1000 * http_s, "client_ms": 1000 * client_s})
        result["peak_rss_mb"] = proc_status_mb(process.pid, "VmHWM")
    finally:
        stop_server(process, http, log)
    return result


def report(env: dict, nets: dict, server: dict | None) -> None:
    print("| " + " | ".join(env) + " |\n|" + "---|" * len(env) + "\n| " + " | ".join(env.values()) + " |")
    print("\nBare forward pass (median), at the model's working resolution; \"as served\" runs every test scale:\n")
    print("| model | picture | network input | GMAC | plain (ms) | as served (ms) |")
    print("|---|---|---|---|---|---|")
    for row in nets["shipped"]:
        name = row["model"] + (f" (T={row['samples']})" if row["samples"] > 1 else "")
        if len(row.get("scales", [1.0])) > 1:
            name += " at ×" + "/".join(f"{s:g}" for s in row["scales"])
        print(f"| {name} | {row['picture']} | {row['input']} | {row['gmac']:.2f} | {row['plain_ms']:.0f} | {row['served_ms']:.0f} |")
    for row in nets["peers"]:
        served = f"{row['served_ms']:.0f}" if "served_ms" in row else "-"
        print(f"| {row['model']} | {row['picture']} | {row['input']} | {row['gmac']:.2f} | {row['plain_ms']:.0f} | {served} |")
    mc = nets["mc"]
    if mc:
        print(f"\n{mc['model']}: one pass {mc['one_pass_ms']:.0f} ms; T={SAMPLES} {mc['t8_ms']:.0f} ms "
              f"(half on the mirror image; {mc['t8_unmirrored_ms']:.0f} ms all on the picture) "
              f"(T separate passes would take {mc['naive_t8_ms']:.0f} ms); each extra sample "
              f"{mc['extra_sample_ms']:.1f} ms = {mc['extra_sample_fraction']:.2f} of a pass"
              + (f"; served at scales ×{'/'.join(f'{s:g}' for s in mc['scales'])}: T={SAMPLES} {mc['t8_at_scales_ms']:.0f} ms"
                 if len(mc.get("scales", [1.0])) > 1 else ""))
    default = next(r for r in nets["shipped"] if r["model"] == DEFAULT_SEGNET and r["picture"] == "480x360" and r["samples"] == 1)
    resnet = next(r for r in nets["peers"] if r["model"].startswith("torchvision"))
    print(f"torchvision fcn_resnet50 / {DEFAULT_SEGNET} (dropout off, as served: {len(default.get('scales', [1]))} scale(s)) "
          "at the same input: "
          f"{resnet['plain_ms'] / default['served_ms']:.1f}x"
          + (f" ({resnet['served_ms'] / default['served_ms']:.1f}x with the peer at the server's precision too)"
             if "served_ms" in resnet else ""))
    if nets.get("throughput"):
        print("\nThroughput of the network alone, as served, 480x360 pictures, at the SegNet's network input:\n")
        print("| model | batch | ms per batch | pictures/s |")
        print("|---|---|---|---|")
        for row in nets["throughput"]:
            name = row["model"] + (f" (T={row['samples']})" if row["samples"] > 1 else "")
            print(f"| {name} | {row['batch']} | {row['ms']:.1f} | {row['pictures_per_s']:.0f} |")
    if not server:
        return
    starts = ", ".join(f"{s:.1f}" for s in server.get("cold_starts_s", []))
    print(f"\ncold start (process start until the first answer of the default model, {DEFAULT_MODEL}): "
          f"{server['cold_start_s']:.1f} s" + (f" (median of {starts})" if len(server.get("cold_starts_s", [])) > 1 else ""))
    print(f"the server answered on: {server.get('served_on', '?')}")
    print("\nWhole request through the real server (median); ratios are to the served bare forward:\n")
    print("| model | picture | handler (ms) | HTTP API (ms) | gradio_client (ms) | HTTP / forward | client / forward |")
    print("|---|---|---|---|---|---|---|")
    for row in server["requests"]:
        forward = next(r for r in nets["shipped"] if r["model"] == row["model"] and r["picture"] == row["picture"]
                       and r["samples"] == row["samples"])["served_ms"]
        name = row["model"] + (f" (T={row['samples']})" if row["samples"] > 1 else "")
        print(f"| {name} | {row['picture']} | {row['handler_ms']:.0f} | {row['http_ms']:.0f} | {row['client_ms']:.0f} "
              f"| {row['http_ms'] / forward:.1f} | {row['client_ms'] / forward:.1f} |")
    print(f"\nserver peak resident memory: {server['peak_rss_mb']:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the networks and the server run")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--server-repeats", type=int, help="requests per figure through the server (default: max(5, --repeats))")
    parser.add_argument("--cold-starts", type=int, default=1, help="start the server this many times; the median is kept")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA GPU is available here")
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    env = environment(args.threads, device)
    nets = measure_networks(args.repeats, device)
    server = None
    if not args.skip_server:
        from http_api import scratch_folder

        with scratch_folder() as folder:
            server = measure_server(args.server_repeats or max(5, args.repeats), pictures(folder), device,
                                    cold_starts=max(1, args.cold_starts))
    report(env, nets, server)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"environment": env, "networks": nets, "server": server}, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
