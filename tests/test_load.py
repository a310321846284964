"""Heavy use on loopback, bounded in count and time: no lost or crossed answers, a bounded queue."""

from __future__ import annotations

import sys
import threading
import time

from conftest import ROOT, start_app, stop_app
from gradio_client import Client, handle_file

sys.path.insert(0, str(ROOT / "benchmarks"))
import load  # noqa: E402


# Resident memory may grow this much from its level after the first request, over 200 more (README,
# "What the server accepts, refuses and withstands"); segdemo/memory.py trims it at 192 MB of growth.
MEMORY_GROWTH_BOUND_MB = 300


def test_concurrent_visitors_each_get_their_own_answer(app_url):
    result = load.run(app_url, clients=16, requests=5, model="fcn8s_lite", samples=1)
    assert result["requests"] == 80
    assert result["failures"] == []


def test_memory_stays_within_its_bound_over_200_requests():
    """Both models, ten visitors of different picture sizes: no leak and no allocator creep past the bound."""
    process, url, _ = start_app({"SEGDEMO_QUEUE_SIZE": "32"})
    try:
        load.run(url, clients=1, requests=1, model="fcn8s_lite", samples=1)
        first = load.resident_mb(process.pid)
        result = load.run(url, clients=10, requests=20, model="both", samples=4)
        after = load.resident_mb(process.pid)
        assert result["requests"] == 200 and result["failures"] == []
        assert after - first <= MEMORY_GROWTH_BOUND_MB, f"{first:.0f} MB after one request, {after:.0f} MB after 200 more"
    finally:
        stop_app(process)


def test_a_full_queue_says_busy_quickly_instead_of_hanging():
    process, url, _ = start_app({"SEGDEMO_QUEUE_SIZE": "1"})
    try:
        picture = str(next((ROOT / "examples").glob("*.jpg")))
        outcomes: list[tuple[str, float]] = []
        lock = threading.Lock()
        # Each visitor connects first and all submit together: on a slow machine, clients made in their own
        # threads arrived seconds apart, each after the one before had been answered, and none met a full queue.
        clients = [Client(url, verbose=False) for _ in range(6)]
        all_connected = threading.Barrier(len(clients))

        def visitor(client: Client) -> None:
            all_connected.wait(timeout=60)
            started = time.perf_counter()
            try:
                client.predict(handle_file(picture), "bayesian_segnet_lite", 0.5, 32, 0, api_name="/segment")
                outcome = "answered"
            except Exception as error:  # noqa: BLE001
                outcome = str(error)
            with lock:
                outcomes.append((outcome, time.perf_counter() - started))

        threads = [threading.Thread(target=visitor, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        busy = [(o, t) for o, t in outcomes if "Queue is full" in o]
        answered = [o for o, _ in outcomes if o == "answered"]
        assert len(outcomes) == 6
        assert busy, outcomes
        assert answered, outcomes
        assert len(answered) <= 2, outcomes  # one run and one waiting: the rest were refused, however close they came
        assert all(t < 5 for _, t in busy), busy  # told at once, not after waiting
        assert set(o for o, _ in outcomes) <= {"answered"} | {o for o, _ in busy}
    finally:
        stop_app(process)
