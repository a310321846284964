"""A request to the app the way a browser or ``curl`` makes it: Gradio's HTTP API, no client library.

upload the picture -> POST /gradio_api/call/<endpoint> -> read the
server-sent events until ``complete`` -> download every output file. The
time this takes is what a visitor waits for. ``gradio_client`` adds its own
polling on top (it checks for new messages every 50 ms), so the benchmarks
report both.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """The benchmark's temporary files, its servers' and gradio_client's included, in one folder removed at its end.

    gradio_client 2.7 leaves an empty folder in the system's temp folder for every file it downloads, and the files
    themselves under /tmp/gradio, for good; a server started without GRADIO_TEMP_DIR keeps its examples and plots
    there too. One run of speed.py had left 240 folders and 11 MB. Pass ``client_downloads()`` to each Client.
    """
    with tempfile.TemporaryDirectory(prefix="segdemo-bench-") as folder:
        before_dir, before_env = tempfile.tempdir, os.environ.get("GRADIO_TEMP_DIR")
        tempfile.tempdir = folder  # where gradio_client makes its folders, and mkstemp its files
        os.environ["GRADIO_TEMP_DIR"] = str(Path(folder) / "gradio")  # the servers' (they inherit the environment)
        try:
            yield Path(folder)
        finally:
            tempfile.tempdir = before_dir
            if before_env is None:
                os.environ.pop("GRADIO_TEMP_DIR", None)
            else:
                os.environ["GRADIO_TEMP_DIR"] = before_env


def client_downloads() -> str:
    """Where a gradio_client Client made inside ``scratch_folder`` downloads its outputs (its default is fixed at
    import, /tmp/gradio)."""
    return str(Path(tempfile.gettempdir()) / "client-downloads")


class GradioHTTP:
    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def upload(self, path: str | Path) -> dict[str, Any]:
        with open(path, "rb") as handle:
            response = self.http.post("/gradio_api/upload", files={"files": (Path(path).name, handle)})
        response.raise_for_status()
        return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}

    def call(self, endpoint: str, data: list[Any], download: bool = True) -> list[Any]:
        """The endpoint's outputs; file outputs are downloaded (their bytes under ``"content"``)."""
        response = self.http.post(f"/gradio_api/call/{endpoint}", json={"data": data})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        event, payload = None, None
        with self.http.stream("GET", f"/gradio_api/call/{endpoint}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    break
        if event != "complete":
            raise RuntimeError(f"{endpoint} answered {event}: {payload}")
        if download:
            self._download(payload)
        return payload

    def _download(self, value: Any) -> None:
        if isinstance(value, dict):
            if value.get("url") and value.get("meta", {}).get("_type") == "gradio.FileData":
                response = self.http.get(value["url"])
                response.raise_for_status()
                value["content"] = response.content
            for item in value.values():
                self._download(item)
        elif isinstance(value, list):
            for item in value:
                self._download(item)
