"""segdemo as a tool for AI agents: the API's ``segment`` and ``compare`` served over MCP (the Model Context
Protocol) by Gradio's own server, at ``/gradio_api/mcp/``, with what segdemo needs of it.

An agent (Claude, Cursor, a Space added in one's Hugging Face MCP settings) lists the two as tools and calls them
with a picture's URL or the picture itself as a ``data:`` URI. Gradio 6.31's server, as it comes, failed segdemo's
endpoints in four ways (each measured with the ``mcp`` package's own client; ``tests/test_agents.py``):

- a call whose client asked for no progress reports failed with "pop index out of range": the server wrapped the
  outputs' tuple in one list item, then removed the session's note from a list of one;
- the image slider (the picture and its overlay) and the maps sent as updates (mutual information, the error
  maps) came as Python's text of their file objects, never as pictures; the figures as Python's ``repr``, not JSON;
- a picture sent as a ``data:`` URI was written into Gradio's cache and never deleted, where every upload is
  (README, "What happens to your picture"): it outlived the server's stop;
- every parameter's description was empty: segdemo's notes (the range of the samples, what the seed does) sit in
  a field of Gradio's API description that MCP clients do not read;
- each picture of the answer was encoded again (as lossy WebP: the maps are written lossless, 8.4 MB of base64
  for a 12-megapixel photo's seven, 0.85 MB so) on the server's event loop: 1.4 s for ``segment``'s, 2.9 s for
  ``compare``'s, in which the server answered no one else (a page, a queue's stream).

``SegdemoMCPServer`` mends each where Gradio's server calls it; each of its methods calls Gradio's own first.
"""

from __future__ import annotations

import contextvars
import html
import json
import logging
import os
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import gradio.mcp

from .internals import lost, warn_once

log = logging.getLogger(__name__)
# the mcp package logs each request at INFO ("Processing request of type CallToolRequest", "Terminating session:
# None"): two to four lines a call in the Space's log, which says nothing of them for the page or the API
logging.getLogger("mcp").setLevel(logging.WARNING)

MCP_SWITCH = "GRADIO_MCP_SERVER"  # Gradio's own variable; "false" serves no MCP, as in any Gradio app
PICTURE_FOR_AGENTS = ("A street picture (PNG, JPEG, WebP, HEIC, AVIF, BMP, GIF or TIFF, up to 50 MB): its public "
                      "http(s) URL, or the file itself as a data: URI (data:image/jpeg;base64,...).")
# Gradio's server methods that SegdemoMCPServer overrides: a release that renames one leaves it unmended
_MENDED = ("_prepare_tool_call_args", "_execute_tool_without_progress", "_execute_tool_with_progress",
           "pop_returned_state", "get_input_schema", "get_image", "get_base64_data")
_UPDATE_KEYS = {"__type__", "visible", "value", "label", "interactive", "elem_classes", "elem_id"}

# the copies of the pictures a call sent as data: URIs, and how many calls under way use each
_copies_of_this_call: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("segdemo_copies", default=())
_copies_in_use: Counter[str] = Counter()
_copies_lock = threading.Lock()
# the answer's pictures, encoded off the event loop: each path's base64, for Gradio's server to send
_encodings: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("segdemo_encodings", default={})


def serve_mcp() -> bool:
    """Whether the app serves MCP: as ``GRADIO_MCP_SERVER`` says where it is set, else wherever the ``mcp`` package
    is installed (``gradio[mcp]``, in requirements.txt). Fits Gradio's server to segdemo before it is made."""
    setting = os.environ.get(MCP_SWITCH)
    if setting is not None and setting.strip().lower() != "true":
        return False
    try:
        import mcp  # noqa: F401
    except ImportError:
        warn_once('No MCP server for agents: the mcp package is not installed (pip install "gradio[mcp]", as '
                  "requirements.txt has it).")
        return False
    missing = [name for name in _MENDED if not hasattr(_GradioMCPServer, name)]
    if missing:
        lost("gradio", "gradio.mcp.GradioMCPServer." + missing[0],
             "its MCP server answers agents as Gradio does, without segdemo's mending (segdemo/agents.py)")
        return True
    if gradio.mcp.GradioMCPServer is _GradioMCPServer:
        gradio.mcp.GradioMCPServer = SegdemoMCPServer  # made by Gradio's App.create_app, at launch or mount
    return True


def outputs_for_an_agent(components: list[Any], outputs: list[Any]) -> list[Any]:
    """An endpoint's ``outputs`` as an agent can read them: each picture a file (which Gradio's server sends as an
    image and its URL), maps hidden for this picture left out, tables in Markdown, figures in JSON, HTML as text."""
    answer: list[Any] = []
    for component, value in zip(components, outputs):
        if _is_update(value):
            if value.get("visible") is False:
                continue  # not drawn for this picture (FCN's mutual information, an unknown picture's error map)
            value = value.get("value")
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and value and all(_is_file(item) for item in value):
            answer.extend(value)  # the image slider: the picture, then its overlay
        elif _is_file(value) or isinstance(value, (int, float)):
            answer.append(value)
        elif isinstance(component, gr.HTML):
            answer.append(_html_as_text(str(value)))
        elif isinstance(value, dict) and "headers" in value and "data" in value:
            answer.append(_markdown_table(value["headers"], value["data"]))
        elif isinstance(value, (dict, list)):
            answer.append(json.dumps(value, ensure_ascii=False))
        else:
            answer.append(value)
    return answer


def _is_update(value: Any) -> bool:
    return isinstance(value, dict) and "visible" in value and set(value) <= _UPDATE_KEYS


def _is_file(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("path"), str) and \
        (value.get("meta") or {}).get("_type") == "gradio.FileData"


def _html_as_text(markup: str) -> str:
    """The words of ``markup`` (the legend: each class and its share), without the page's tags and colours."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def _markdown_table(headers: list[Any], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _local_files(value: Any) -> list[str]:
    """The paths of the server's own files in ``value``: among a call's arguments, the copies of pictures sent as
    data: URIs (a URL is fetched by the app; the schema lets an agent send nothing else); among its outputs, maps."""
    if _is_file(value) and not value["path"].startswith(("http://", "https://")):
        return [value["path"]]
    if isinstance(value, dict):
        return [path for item in value.values() for path in _local_files(item)]
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _local_files(item)]
    return []


def _encoded_pictures(outputs: Any) -> dict[str, str]:
    """Each picture file among ``outputs`` encoded as Gradio's server sends it (its own two steps), by path."""
    encoded = {}
    for path in _local_files(outputs):
        if (image := _GradioMCPServer.get_image(path)) is not None:
            with image:
                encoded[path] = _GradioMCPServer.get_base64_data(image, image.format or "png")
    return encoded


def _delete_copies(paths: tuple[str, ...]) -> None:
    """Delete the copies no other call under way still sends (the same picture twice is one file in the cache)."""
    from gradio.mcp import DEFAULT_TEMP_DIR  # where Gradio's server writes them: GRADIO_TEMP_DIR
    from gradio.utils import is_in_or_equal

    for path in paths:
        with _copies_lock:
            _copies_in_use[path] -= 1
            if _copies_in_use[path] > 0:
                continue
            del _copies_in_use[path]
            if not is_in_or_equal(path, DEFAULT_TEMP_DIR):
                continue
            try:
                os.remove(path)
                Path(path).parent.rmdir()  # its folder, named by the picture's hash, if nothing else is in it
            except OSError:
                pass


_GradioMCPServer = gradio.mcp.GradioMCPServer  # Gradio's own, before serve_mcp puts SegdemoMCPServer in its place


class SegdemoMCPServer(_GradioMCPServer):  # type: ignore[misc]
    """Gradio's MCP server, mended where it failed segdemo's endpoints (this module's docstring)."""

    def _prepare_tool_call_args(self, name: str, arguments: dict[str, Any]) -> Any:
        """Gradio's, noting the copies of the pictures sent as data: URIs, so the call deletes them when it ends."""
        prepared = super()._prepare_tool_call_args(name, arguments)
        copies = tuple(_local_files(prepared[1]))
        with _copies_lock:
            _copies_in_use.update(copies)
        _copies_of_this_call.set(copies)
        return prepared

    async def _execute_tool_without_progress(self, job: Any) -> list[Any]:
        """Every output of the call, as a list (Gradio's gave one item: the outputs' tuple)."""
        try:
            outputs = await super()._execute_tool_without_progress(job)
        finally:
            _delete_copies(_copies_of_this_call.get())
        outputs = list(outputs[0]) if len(outputs) == 1 and isinstance(outputs[0], tuple) else outputs
        _encodings.set(await anyio.to_thread.run_sync(_encoded_pictures, outputs))
        return outputs

    async def _execute_tool_with_progress(self, job: Any, progress_token: str | int) -> Any:
        try:
            outputs = await super()._execute_tool_with_progress(job, progress_token)
        finally:
            _delete_copies(_copies_of_this_call.get())
        _encodings.set(await anyio.to_thread.run_sync(_encoded_pictures, outputs))
        return outputs

    @staticmethod
    def get_base64_data(image: Any, format: str) -> str:
        """The picture as encoded off the event loop for this call, where it was; else Gradio's own encoding."""
        made = _encodings.get().get(getattr(image, "filename", None))
        return made if made is not None else _GradioMCPServer.get_base64_data(image, format)

    @staticmethod
    def pop_returned_state(components: Any, data: Any) -> list[Any]:
        """Gradio's (the session's note left out), then each output as an agent reads it."""
        data = _GradioMCPServer.pop_returned_state(components, data)
        return outputs_for_an_agent([c for c in components if not isinstance(c, gr.State)], data)

    def get_input_schema(self, tool_name: str, parameters: dict[str, str] | None = None) -> Any:
        """Gradio's, each parameter described with segdemo's note on it (where Gradio left it empty), the picture's
        with how an agent sends one."""
        schema, file_positions = super().get_input_schema(tool_name, parameters)
        for name, field in schema.get("properties", {}).items():
            note = field.pop("additional_description", None)
            if [name] in file_positions:
                field["description"] = PICTURE_FOR_AGENTS
            elif note and not field.get("description"):
                field["description"] = note
        return schema, file_positions
