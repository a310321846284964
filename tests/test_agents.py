"""segdemo as a tool for AI agents: ``python app.py`` serves the API's segment and compare over MCP at
/gradio_api/mcp/, and the ``mcp`` package's own client (what agents' hosts are built on) lists and calls them.

Each case failed on Gradio 6.31's server as it comes (segdemo/agents.py): a call without progress reports ("pop
index out of range"), the overlay and the maps sent as updates given as Python's text of a file object, the
parameters undescribed, and a picture sent as a data: URI left in Gradio's cache after the server stopped."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import json
import sys
import threading
from pathlib import Path

import gradio as gr
import pytest
from conftest import ROOT, start_app, stop_app
from PIL import Image

from segdemo.agents import PICTURE_FOR_AGENTS, outputs_for_an_agent

pytest.importorskip("mcp", reason="the mcp package (gradio[mcp], requirements.txt) is not installed")

EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01290.jpg"


def test_outputs_reach_an_agent_as_pictures_tables_and_json():
    picture = {"path": "/cache/picture.webp", "meta": {"_type": "gradio.FileData"}}
    overlay = {"path": "/cache/overlay.webp", "meta": {"_type": "gradio.FileData"}}
    components = [gr.ImageSlider(render=False), gr.Image(render=False), gr.Dataframe(render=False),
                  gr.HTML(render=False), gr.Markdown(render=False), gr.JSON(render=False), gr.Image(render=False)]
    outputs = [
        [picture, overlay],
        {"__type__": "update", "visible": False, "value": None},  # FCN's mutual information: none
        {"headers": ["Class", "Pixels %"], "data": [["Road", 38.5], ["Sky|Tree", 1.0]], "metadata": None},
        '<div><span style="background:rgb(128,64,128)"></span>Road <b>38.6%</b> &amp; more</div>',
        "**FCN-8s** · 433 ms",
        {"model": "fcn8s_lite", "mean_confidence": 0.91},
        {"__type__": "update", "visible": True, "value": overlay},
    ]
    assert outputs_for_an_agent(components, outputs) == [
        picture, overlay,
        "| Class | Pixels % |\n|---|---|\n| Road | 38.5 |\n| Sky\\|Tree | 1.0 |",
        "Road 38.6% & more",
        "**FCN-8s** · 433 ms",
        '{"model": "fcn8s_lite", "mean_confidence": 0.91}',
        overlay,
    ]


def test_the_answers_pictures_are_encoded_once_and_off_the_event_loop(tmp_path, monkeypatch):
    """Gradio's server encoded each picture on its event loop (2.9 s for compare's on a 12-megapixel photo, the
    server deaf meanwhile); the encoding is now made in a worker thread and sent as made."""
    from segdemo import agents

    picture = tmp_path / "map.webp"
    Image.new("RGB", (64, 48), "red").save(picture, lossless=True)
    file = {"path": str(picture), "meta": {"_type": "gradio.FileData"}}
    threads = []
    gradios = agents._GradioMCPServer.get_base64_data

    def recorded(image, format):
        threads.append(threading.current_thread())
        return gradios(image, format)

    monkeypatch.setattr(agents._GradioMCPServer, "get_base64_data", staticmethod(recorded))

    class Job:  # a call's job, as gradio_client gives it: the outputs' tuple
        def result(self):
            return file, "**FCN-8s** · 433 ms"

    server = agents.SegdemoMCPServer.__new__(agents.SegdemoMCPServer)  # no app: its one method under test

    async def call():
        outputs = await server._execute_tool_without_progress(Job())
        image = server.get_image(str(picture))  # then Gradio's server, on the event loop
        return outputs, server.get_base64_data(image, image.format), threading.current_thread()

    outputs, sent, event_loop = asyncio.run(call())
    assert outputs == [file, "**FCN-8s** · 433 ms"]
    assert len(threads) == 1 and threads[0] is not event_loop
    assert Image.open(io.BytesIO(base64.b64decode(sent))).size == (64, 48)


def data_uri(picture: Image.Image) -> tuple[str, bytes]:
    """``picture`` as a PNG data: URI, and the PNG's bytes (unlike any file the app ships or caches)."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), buffer.getvalue()


async def as_an_agent(url: str, calls: list[tuple[str, dict, bool]]) -> tuple[list, list]:
    """The tools ``url``'s MCP server lists, and the result of each call (tool, arguments, with progress reports)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def progress(*_: object) -> None:
        return None

    async with streamable_http_client(url + "gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            results = [await session.call_tool(name, arguments, progress_callback=progress if reported else None)
                       for name, arguments, reported in calls]
    return tools, results


async def uploaded_then_segmented(url: str, picture: Path) -> tuple[str, object]:
    """A picture on the agent's own disk, uploaded by Gradio's ``gradio upload-mcp`` (the MCP server Gradio
    offers for it, over stdio) and segmented by the URL it answers: the URL, and the call's result."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    # the `gradio` command, run by this Python (a moved virtual environment's scripts name the Python it had)
    uploader = StdioServerParameters(command=sys.executable, args=["-c", "from gradio.cli import cli; cli()",
                                                                   "upload-mcp", url, str(picture.parent)])
    async with stdio_client(uploader) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            answer = await session.call_tool("upload_file_to_gradio", {"file": str(picture)})
    picture_url = answer.content[0].text
    _, (result,) = await as_an_agent(url, [("segment", {"image": picture_url, "model_name": "fcn8s_lite"}, False)])
    return picture_url, result


def in_a_thread_of_its_own(coroutine):
    """``asyncio.run(coroutine)`` where an event loop already runs in this thread (Playwright's sync API, in a
    module that drives a browser too)."""
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_an_agent_segments_and_compares_a_picture_and_leaves_nothing_behind(tmp_path):
    cache = tmp_path / "cache"
    street, street_bytes = data_uri(Image.open(EXAMPLE).convert("RGB").crop((0, 0, 320, 240)))  # no CamVid frame
    text = "data:text/plain;base64," + base64.b64encode(b"not a picture").decode()
    process, url, log = start_app({"GRADIO_TEMP_DIR": str(cache)})
    try:
        tools, (segment, compare, known, refused) = asyncio.run(as_an_agent(url, [
            ("segment", {"image": street, "model_name": "bayesian_segnet_lite", "samples": 4}, False),
            ("compare", {"image": street, "samples": 2, "seed": 7}, True),
            ("segment", {"image": "data:image/jpeg;base64," + base64.b64encode(EXAMPLE.read_bytes()).decode(),
                         "model_name": "fcn8s_lite"}, False),
            ("segment", {"image": text}, False),
        ]))
        on_disk = tmp_path / "agent" / "street.jpg"
        on_disk.parent.mkdir()
        on_disk.write_bytes(EXAMPLE.read_bytes())
        uploaded_url, uploaded = asyncio.run(uploaded_then_segmented(url, on_disk))
        server_log = Path(log).read_text()
    finally:
        stop_app(process)  # SIGTERM: the server's clean-up runs

    assert {tool.name for tool in tools} == {"segment", "compare"}
    for tool in tools:
        fields = tool.inputSchema["properties"]
        assert fields["image"]["description"] == PICTURE_FOR_AGENTS
        assert all(field.get("description") for field in fields.values()), tool.name

    # asked for no progress reports: Gradio's server had answered "pop index out of range"
    assert not segment.isError, segment.content
    pictures = [item for item in segment.content if item.type == "image"]
    words = [item.text for item in segment.content if item.type == "text"]
    # the picture and its overlay (the slider), confidence, boundary, mutual information, class map: no error map
    assert len(pictures) == 6
    assert any("overlay_bayesian_segnet_lite" in text for text in words)
    assert any("mutual_information_" in text for text in words)
    figures = next(json.loads(text) for text in words if text.startswith('{"model"'))
    assert figures["model"] == "bayesian_segnet_lite" and figures["samples"] == 4
    assert not any("'path'" in text or "<span" in text for text in words)  # no Python reprs, no page markup
    assert any(text.startswith("| Class | Pixels % |") for text in words)

    assert not compare.isError, compare.content
    # both overlays, both boundary maps, the disagreement, both class maps, both confidence maps: no error maps
    assert len([item for item in compare.content if item.type == "image"]) == 9

    # a bundled CamVid frame sent as its bytes: its error map comes too, and no mutual information for FCN
    known_words = [item.text for item in known.content if item.type == "text"]
    assert any("_errors_fcn8s_lite" in text for text in known_words)
    assert not any("mutual_information_" in text for text in known_words)

    # a picture on the agent's disk, uploaded with Gradio's upload-mcp: its URL, on 127.0.0.1, is the upload itself
    # (it was refused as a local address, which pictures are never fetched from)
    assert uploaded_url.startswith(url + "gradio_api/file=")
    assert not uploaded.isError, uploaded.content
    assert any("_errors_fcn8s_lite" in item.text for item in uploaded.content if item.type == "text")

    assert refused.isError
    assert "not an image we can read" in refused.content[0].text
    assert "Traceback" not in refused.content[0].text and "Traceback" not in server_log
    assert "Processing request of type" not in server_log and "Terminating session" not in server_log

    # the picture, sent as a data: URI, is nowhere in the cache once the server has stopped
    left = [path for path in cache.rglob("*") if path.is_file() and path.read_bytes() == street_bytes]
    assert left == []


def test_on_a_space_the_tools_are_named_after_it_and_answer_alike(tmp_path):
    """A Space's environment (SYSTEM=spaces, its SPACE_ID, and GRADIO_SSR_MODE=true): Gradio names each tool after
    the Space's repository, ``segdemo_segment`` for someone/segdemo, so that an agent given several Spaces tells
    their tools apart (the README says so); segdemo's mends hold under those names."""
    street, _ = data_uri(Image.open(EXAMPLE).convert("RGB").crop((0, 0, 160, 120)))
    process, url, _ = start_app({"GRADIO_TEMP_DIR": str(tmp_path / "cache"), "SYSTEM": "spaces",
                                 "SPACE_ID": "someone/segdemo", "GRADIO_SSR_MODE": "true"})
    try:
        tools, (segment,) = asyncio.run(as_an_agent(url, [
            ("segdemo_segment", {"image": street, "model_name": "fcn8s_lite"}, False)]))
    finally:
        stop_app(process)
    assert {tool.name for tool in tools} == {"segdemo_segment", "segdemo_compare"}
    for tool in tools:
        assert tool.inputSchema["properties"]["image"]["description"] == PICTURE_FOR_AGENTS, tool.name
    assert not segment.isError, segment.content
    assert len([item for item in segment.content if item.type == "image"]) == 5   # FCN: no mutual information


def test_a_gradio_whose_server_moved_a_mended_method_serves_it_unmended_and_says_so(monkeypatch, caplog):
    import gradio.mcp

    from segdemo import agents, internals

    monkeypatch.setattr(internals, "_said", set())
    monkeypatch.delattr(agents._GradioMCPServer, "pop_returned_state")
    monkeypatch.setattr(gradio.mcp, "GradioMCPServer", agents._GradioMCPServer)
    monkeypatch.delenv("GRADIO_MCP_SERVER", raising=False)
    with caplog.at_level("WARNING"):
        assert agents.serve_mcp()
    assert gradio.mcp.GradioMCPServer is agents._GradioMCPServer  # Gradio's own, not segdemo's
    assert "has no gradio.mcp.GradioMCPServer.pop_returned_state" in caplog.text


def test_gradio_mcp_server_false_serves_no_mcp(monkeypatch):
    from segdemo import agents

    monkeypatch.setenv("GRADIO_MCP_SERVER", "false")
    assert not agents.serve_mcp()
