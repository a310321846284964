"""Many visitors at once against the real app on loopback: every answer correct for its own picture.

    python benchmarks/load.py                       # starts app.py itself on a free port
    python benchmarks/load.py --url http://127.0.0.1:7860/ --clients 16 --requests 5
    python benchmarks/load.py --clients 10 --requests 20 --rounds 4 --model both   # memory over 800 requests

Each client uploads its own picture (a different size per client), so an
answer that went to the wrong visitor would come back at the wrong size.
Prints p50/p95 latency, throughput and the server's resident memory before
and after each round (``--rounds``: the same load again, to tell a leak from
a plateau); exits non-zero if any request was lost or wrong.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client, handle_file
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_api import client_downloads, scratch_folder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def resident_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def pictures(count: int, folder: Path) -> list[tuple[str, tuple[int, int]]]:
    """One picture per client, each of its own size, made from a bundled example."""
    source = Image.open(next((ROOT / "examples").glob("*.jpg"))).convert("RGB")
    made = []
    for index in range(count):
        size = (320 + 8 * index, 240 + 6 * index)
        path = folder / f"client{index}.png"
        source.resize(size).save(path)
        made.append((str(path), size))
    return made


def run(url: str, clients: int, requests: int, model: str, samples: int) -> dict:
    """``model`` may be ``both``: even clients ask FCN-8s-lite, odd ones Bayesian SegNet-lite."""
    with tempfile.TemporaryDirectory(prefix="segdemo-load-") as folder:
        return load(url, pictures(clients, Path(folder)), requests, model, samples)


def load(url: str, work: list[tuple[str, tuple[int, int]]], requests: int, model: str, samples: int) -> dict:
    """Each picture in ``work`` is one client sending ``requests`` requests at once with the others."""
    clients = len(work)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def visitor(index: int) -> None:
        path, size = work[index]
        client = Client(url, verbose=False, download_files=client_downloads())
        chosen = model if model != "both" else ("fcn8s_lite", "bayesian_segnet_lite")[index % 2]
        for _ in range(requests):
            started = time.perf_counter()
            try:
                figures = client.predict(handle_file(path), chosen, 0.5, samples, index, api_name="/segment")[7]
                ok = figures["output_size"] == list(size)
                problem = None if ok else f"client {index} got an answer of size {figures['output_size']}, sent {size}"
            except Exception as error:  # noqa: BLE001 - every failure is counted
                problem = f"client {index}: {type(error).__name__}: {error}"
            with lock:
                latencies.append(time.perf_counter() - started)
                if problem:
                    failures.append(problem)

    started = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "failures": failures,
        "p50": statistics.median(ordered),
        "p95": ordered[max(0, int(round(0.95 * len(ordered))) - 1)],
        "throughput": len(latencies) / wall,
        "wall": wall,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running app (default: start app.py on a free port)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=5, help="per client")
    parser.add_argument("--model", default="fcn8s_lite")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole load, printing memory after each")
    args = parser.parse_args(argv)

    with scratch_folder():
        process = None
        url = args.url
        if url is None:
            from conftest import start_app, stop_app

            process, url, _ = start_app({"SEGDEMO_QUEUE_SIZE": str(max(16, args.clients * 2))})
        results = []
        memory = []
        try:
            if process:  # one request first, so that lazy start-up allocations are not counted as growth
                run(url, 1, 1, "fcn8s_lite" if args.model == "both" else args.model, args.samples)
                memory.append((1, resident_mb(process.pid)))
            for _ in range(args.rounds):
                results.append(run(url, args.clients, args.requests, args.model, args.samples))
                if process:
                    memory.append((memory[-1][0] + results[-1]["requests"], resident_mb(process.pid)))
        finally:
            if process:
                stop_app(process)
    print(f"{args.clients} clients x {args.requests} requests of /segment ({args.model}, {args.samples} samples)"
          + (f", {args.rounds} rounds" if args.rounds > 1 else ""))
    failures = []
    for index, result in enumerate(results, start=1):
        print(f"round {index}: answered {result['requests'] - len(result['failures'])}/{args.clients * args.requests}, "
              f"p50 {result['p50']:.2f} s, p95 {result['p95']:.2f} s, {result['throughput']:.2f} requests/s "
              f"over {result['wall']:.1f} s")
        failures += result["failures"]
    if memory:
        print("server resident memory: " + ", ".join(f"{mb:.0f} MB after {count} requests" for count, mb in memory))
    for failure in failures[:10]:
        print("FAILED:", failure)
    lost = args.rounds * args.clients * args.requests - sum(r["requests"] for r in results)
    return 1 if failures or lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
