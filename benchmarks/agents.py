"""What an agent waits for and reads: a tool call over MCP against the same call through gradio_client.

Starts app.py (or uses ``--url``) and calls ``segment`` (Bayesian SegNet, 8 samples) and ``compare`` on a
480x360 CamVid frame and on a 12-megapixel photo, each as an agent sends it (a data: URI, the mcp package's
client, no progress reports) and as the Python API does (``handle_file``, ``download_files=False``), alternately,
``--repeats`` times. Prints the medians, their ratio, and the answer's size: how many pictures, and how many
megabytes of base64 an agent's host receives (a host may cap a tool's result).

    .venv/bin/python benchmarks/agents.py --json benchmarks/results/agents-cpu.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FRAME = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from http_api import scratch_folder  # noqa: E402


async def agent_calls(url: str, calls: list[tuple[str, dict]]) -> list[tuple[float, object]]:
    """Each call's seconds and result, in one MCP session (as a host keeps one open)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    timed = []
    async with streamable_http_client(url + "gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for name, arguments in calls:
                started = time.perf_counter()
                result = await session.call_tool(name, arguments)
                timed.append((time.perf_counter() - started, result))
    return timed


def twelve_megapixels(folder: Path) -> Path:
    """The frame at 4000x3000 with a little noise: a phone photo's size and JPEG weight (2.6 MB)."""
    with Image.open(FRAME) as frame:
        big = np.asarray(frame.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)).astype(np.int16)
    noise = np.random.default_rng(0).integers(-8, 9, big.shape)
    photo = folder / "photo.jpg"
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(photo, quality=92)
    return photo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running app (default: start app.py on a free port)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    rows = []
    with scratch_folder() as folder:
        process, url = None, args.url
        if url is None:
            from conftest import start_app, stop_app

            process, url, _ = start_app()
        try:
            client = Client(url, verbose=False, download_files=False)
            for picture_name, picture in (("480x360 CamVid frame", FRAME), ("12 MP photo", twelve_megapixels(folder))):
                data_uri = "data:image/jpeg;base64," + base64.b64encode(picture.read_bytes()).decode()
                for tool, arguments, api_args in (
                    ("segment", {"model_name": "bayesian_segnet_lite", "samples": 8}, ("bayesian_segnet_lite",)),
                    ("compare", {"samples": 8}, ()),
                ):
                    agent_seconds, api_seconds, answer = [], [], None
                    for _ in range(args.repeats + 1):  # the first of each is a warm-up
                        started = time.perf_counter()
                        client.predict(handle_file(str(picture)), *api_args, 0.55, 8, 0, api_name=f"/{tool}")
                        api_seconds.append(time.perf_counter() - started)
                        ((seconds, answer),) = asyncio.run(agent_calls(url, [(tool, {"image": data_uri, **arguments})]))
                        agent_seconds.append(seconds)
                        assert not answer.isError, answer.content
                    pictures = [len(item.data) for item in answer.content if item.type == "image"]
                    agent, api = statistics.median(agent_seconds[1:]), statistics.median(api_seconds[1:])
                    rows.append({
                        "picture": picture_name, "tool": tool, "agent_s": round(agent, 2), "gradio_client_s": round(api, 2),
                        "ratio": round(agent / api, 2), "pictures": len(pictures),
                        "base64_mb": round(sum(pictures) / 1e6, 2), "largest_picture_mb": round(max(pictures) / 1e6, 2),
                        "text_kb": round(sum(len(item.text) for item in answer.content if item.type == "text") / 1e3, 1),
                    })
        finally:
            if process:
                stop_app(process)
    print(f"{'picture':22} {'tool':8} {'agent s':>8} {'client s':>9} {'ratio':>6} {'pictures':>9} {'base64 MB':>10} "
          f"{'largest MB':>11} {'text kB':>8}")
    for row in rows:
        print(f"{row['picture']:22} {row['tool']:8} {row['agent_s']:8.2f} {row['gradio_client_s']:9.2f} "
              f"{row['ratio']:6.2f} {row['pictures']:9d} {row['base64_mb']:10.2f} {row['largest_picture_mb']:11.2f} "
              f"{row['text_kb']:8.1f}")
    if args.json:
        args.json.write_text(json.dumps({"repeats": args.repeats, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
