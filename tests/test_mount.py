"""The app inside a FastAPI app of one's own (``demo.mount(app, "/segdemo")``, Gradio's ``mount_gradio_app``), served
by uvicorn in this process: the same page, limits and queue as ``python app.py``, at the path, beside the site's own
routes. ``gr.mount_gradio_app(app, demo, "/segdemo")`` alone served Gradio's bare page with no upload limit."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, free_port
from gradio_client import Client, handle_file

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01290.jpg"


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A FastAPI site with a route of its own and segdemo mounted at /segdemo/, on a free loopback port: its URL,
    the page, and uvicorn's server and thread."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from segdemo import imagefiles
    from segdemo.service import SegmentationService
    from segdemo.ui import build_demo
    from segdemo.zoo import load_zoo

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(imagefiles, "_running_sweep", None)
    app = FastAPI()
    app.get("/")(lambda: PlainTextResponse("the site's own page"))
    demo = build_demo(SegmentationService(load_zoo()))
    app = demo.mount(app, "/segdemo")
    port = free_port()
    # as the README runs it: a page open (here gradio_client's) holds a stream open, which uvicorn would wait for
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                          timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", demo, server, thread
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        demo.close(verbose=False)


def agents_call(url: str):
    """An agent's call of ``segment`` at ``url``'s MCP server (tests/test_agents.py); None without the mcp package."""
    import base64
    import importlib.util

    if importlib.util.find_spec("mcp") is None:
        return None
    from test_agents import as_an_agent, in_a_thread_of_its_own

    picture = "data:image/jpeg;base64," + base64.b64encode(EXAMPLE.read_bytes()).decode()
    call = ("segment", {"image": picture, "model_name": "fcn8s_lite"}, False)
    _, (answer,) = in_a_thread_of_its_own(as_an_agent(url, [call]))
    return answer


def test_mounted_in_a_site_of_ones_own_the_app_serves_its_page_at_the_path(site, tmp_path):
    from segdemo.imagefiles import results_folder
    from segdemo.ui import CSS, QUEUE_SIZE, page_script

    url, demo, server, thread = site
    assert urllib.request.urlopen(url + "/", timeout=10).read() == b"the site's own page"
    config = json.load(urllib.request.urlopen(url + "/segdemo/config", timeout=30))
    assert config["theme"] == "soft" and config["js"] == page_script() and CSS in config["css"], "a bare page"
    assert config["max_file_size"] == 50 * 1024 * 1024 and demo._queue.max_size == QUEUE_SIZE
    with urllib.request.urlopen(urllib.request.Request(url + "/segdemo/", headers={"Accept-Encoding": "gzip"}),
                                timeout=30) as page:
        assert page.headers.get("Content-Encoding") == "gzip"  # segdemo's middleware, in the mounted app
    visitor = tmp_path / "visitor.jpg"
    shutil.copy(EXAMPLE, visitor)
    client = Client(url + "/segdemo/", verbose=False, download_files=str(tmp_path / "downloads"))
    result = client.predict(handle_file(str(visitor)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
    assert Path(result[1]).exists()  # the confidence map
    page = urllib.request.urlopen(url + "/segdemo/", timeout=30).read().decode()
    assert f'<meta property="og:url" content="{url}/segdemo/"' in page, "the link preview, at the mounted path"
    assert list(results_folder().iterdir())
    agent = agents_call(url + "/segdemo/")  # MCP at the path, its session manager started by the host's lifespan
    assert agent is None or not agent.isError, agent.content
    server.should_exit = True  # as on SIGTERM or Ctrl-C: uvicorn shuts the site down, what visitors left goes
    thread.join(timeout=30)
    assert not thread.is_alive(), "uvicorn did not shut down"
    assert not list(results_folder().iterdir())
    assert not any(path.name == visitor.name for path in (tmp_path / "cache").rglob("*"))
