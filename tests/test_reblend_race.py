"""Re-blends racing a run in one session, over Gradio's queue as the page speaks it (join, then the event stream).

The opacity slider's re-blends run in their own queue beside the networks', on the result the session showed when
they began. One that ended after a run's newer result put the older overlay back on the page and in the session's
State: 7 of 8 sessions ended on the older result, here, before the server noted each session's newest result.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
from conftest import ROOT

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01890.jpg"


class PageSession:
    """One browser tab's session: events joined to the queue, their results read from the session's stream."""

    def __init__(self, url: str) -> None:
        self.url, self.hash = url, uuid.uuid4().hex[:12]
        self.done: dict[str, dict] = {}
        self.changed = threading.Condition()
        self.closed = threading.Event()
        self.http = httpx.Client(base_url=url, timeout=60)
        self.ids = {d["api_name"] or d.get("fn"): (i, d["targets"][0][0])
                    for i, d in enumerate(self.http.get("/config").json()["dependencies"])}
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        with httpx.Client(base_url=self.url, timeout=None) as stream_client:
            while not self.closed.is_set():  # the stream closes whenever the session has nothing pending
                try:
                    with stream_client.stream("GET", f"/gradio_api/queue/data?session_hash={self.hash}") as stream:
                        for line in stream.iter_lines():
                            message = json.loads(line[5:]) if line.startswith("data:") else {}
                            if message.get("msg") == "process_completed":
                                with self.changed:
                                    self.done[message["event_id"]] = message
                                    self.changed.notify_all()
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)

    def call(self, name: str, data: list) -> list:
        index, trigger = self.ids[name]
        joined = self.http.post("/gradio_api/queue/join", json={"data": data, "fn_index": index, "trigger_id": trigger,
                                                                 "session_hash": self.hash, "event_data": None})
        event = joined.json()["event_id"]
        with self.changed:
            assert self.changed.wait_for(lambda: event in self.done, timeout=120), name
        return self.done[event]["output"]["data"]


def slider_picture(output: list) -> str:
    value = output[0].get("value", output[0]) if isinstance(output[0], dict) else output[0]
    return value[0]["path"]


def test_a_blend_begun_before_a_run_s_result_does_not_bring_the_older_result_back(app_url):
    uploaded = httpx.post(f"{app_url}gradio_api/upload", files={"files": EXAMPLE.open("rb")}, timeout=30).json()[0]
    picture = {"path": uploaded, "meta": {"_type": "gradio.FileData"}, "orig_name": EXAMPLE.name}
    for _ in range(3):
        page = PageSession(app_url)
        try:
            page.call("segment", [picture, "fcn8s_lite", 0.55, 1, 0])
            newer: dict[str, list] = {}
            run = threading.Thread(target=lambda: newer.update(
                output=page.call("segment", [picture, "bayesian_segnet_lite", 0.55, 8, 0])))
            run.start()
            steps = 0
            while run.is_alive():  # a drag: a blend as soon as the last one is back
                page.call("reblend_segment", [None, 0.3 + 0.01 * (steps % 20), "info", False])
                steps += 1
            run.join()
            assert steps >= 2, "the run ended before any blend could race it"
            time.sleep(0.5)  # the follow-up blend after the run, if any, ends
            after = page.call("reblend_segment", [None, 0.9, "info", False])
            assert slider_picture(after) == slider_picture(newer["output"]), "the older result came back"
        finally:
            page.closed.set()
            page.http.close()
