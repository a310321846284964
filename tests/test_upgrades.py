"""What segdemo takes from Gradio and the other pins beyond their documented API is still where it was (README,
"Upgrading Gradio and the other pins"): each test names the internal that moved, for the maintainer who bumps a pin.

Seconds, not minutes: one demo built with no models, and Gradio's installed files read; no server, no browser.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import gradio as gr
import pytest

from segdemo import inputs, picture_urls
from segdemo.inputs import check_gradio_hooks
from segdemo.internals import InternalMoved
from segdemo.service import SegmentationService
from segdemo.ui import build_demo, gradio_forget, gradio_sweep

SEGDEMO = Path(__file__).resolve().parent.parent / "segdemo"
# What the page's own rules name that is ours, not Gradio's: classes given with elem_classes, the script's own
OWN_CLASSES = re.compile(r"^(segdemo|trust-plot)")
# What the page's script and rules rely on in Gradio's frontend beyond its classes and test ids: (pattern, who uses it)
FRONTEND_FEATURES = [
    (r"clip-path: inset\(", "divider_keys.js and pixel_readout.js read the ImageSlider's divider from it"),
    (r"loading[:=]\s*[`\"']lazy", "eager_pictures.js turns the maps' lazy loading off"),
    (r"role=\\?[\"']tabpanel", "pixel_readout.js finds a map's tab by it"),
    (r"navigator\.mediaDevices\.getUserMedia\(", "source_errors.js hears a refused camera from Gradio's call"),
    (r"navigator\.clipboard\.read\(\)", "source_errors.js hears a refused or empty clipboard from Gradio's call"),
    (r"\./core-[\w-]+\.js", "page_language.js finds Gradio's core module by its file's name"),
    (r"\bas changeLocale\b", "page_language.js puts Gradio's words in English with its settings panel's function"),
    (r"__gradio_mode__ = \"app\"", "page_language.js tells the app's own page from a web component in another's"),
]


@pytest.fixture(scope="module")
def demo() -> gr.Blocks:
    built = build_demo(SegmentationService({}))
    built.queue(max_size=2)
    return built


@pytest.fixture(scope="module")
def frontend() -> str:
    """Gradio's built page: every script, style and page it serves, as one text."""
    root = Path(gr.__file__).resolve().parent / "templates" / "frontend"
    files = [p for p in root.rglob("*") if p.suffix in (".js", ".css", ".html") and p.is_file()]
    assert files, f"Gradio {gr.__version__} has no built frontend under {root}"
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def test_gradio_still_calls_what_segdemo_overrides(demo):
    """RefusingBlocks' and UploadImage's overrides run only while Gradio's own code calls them by these names."""
    check_gradio_hooks(demo)
    callers = {
        "gradio.blocks": ["self.preprocess_data(", "self.validate_inputs("],
        "gradio.processing_utils": [".async_move_resource_to_block_cache("],
    }
    for module, calls in callers.items():
        source = inspect.getsource(importlib.import_module(module))
        for call in calls:
            assert call in source, (f"Gradio {gr.__version__}'s {module} no longer calls {call[:-1].lstrip('.')}, "
                                    "which segdemo/inputs.py overrides: port the override")


def test_a_moved_hook_is_refused_at_start_in_one_line(demo, monkeypatch):
    monkeypatch.delattr(gr.Blocks, "preprocess_data")
    with pytest.raises(InternalMoved, match=r"^gradio \S+ has no Blocks\.preprocess_data\(block_fn, inputs, state"):
        check_gradio_hooks(demo)


def test_the_queue_takes_one_arrival_at_a_time(demo):
    push = getattr(getattr(demo, "_queue", None), "push", None)
    assert getattr(push, "__name__", None) == "push_alone", (
        f"Gradio {gr.__version__}'s Blocks._queue.push is not wrapped by RefusingBlocks.queue: visitors who press "
        "at once may all pass a full queue's check of max_size")


def test_each_line_of_events_is_bounded_on_its_own(demo):
    from gradio import route_utils

    queue = demo._queue
    assert callable(getattr(route_utils, "get_fn", None)) and isinstance(
        getattr(queue, "event_queue_per_concurrency_id", None), dict), (
        f"Gradio {gr.__version__} lacks gradio.route_utils.get_fn or Queue.event_queue_per_concurrency_id: a full "
        "networks' queue refuses the re-blends too (segdemo/inputs.py, _waiting_in_line)")
    refusal = inspect.getsource(type(queue).push)
    assert '"queue_full"' in refusal and "self.max_size" in refusal, (
        f"Gradio {gr.__version__}'s Queue.push no longer refuses with (False, message, \"queue_full\") by max_size, "
        "which segdemo/inputs.py answers with for a full line of its own")


def test_a_click_on_an_example_runs_the_tab(demo):
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"segment_examples", "compare_examples"} <= names, (
        f"Gradio {gr.__version__}'s gr.Examples has no load_input_event: an example fills the picture, runs nothing")


def test_gradios_served_files_can_be_swept_and_forgotten(demo):
    assert gradio_sweep(demo) is not None, (f"Gradio {gr.__version__} lacks gradio.route_utils."
                                            "delete_files_created_by_app or Blocks.temp_file_sets")
    assert gradio_forget(demo) is not None, f"Gradio {gr.__version__} lacks Blocks.temp_file_sets"


def test_gradios_mcp_server_still_has_and_calls_what_segdemo_mends():
    """segdemo/agents.py overrides these methods of Gradio's MCP server; each mends a way it failed the app's tools."""
    import gradio.mcp

    from segdemo.agents import _MENDED, _GradioMCPServer

    assert _GradioMCPServer.__name__ == "GradioMCPServer"
    missing = [name for name in _MENDED if not hasattr(_GradioMCPServer, name)]
    assert not missing, f"Gradio {gr.__version__}'s GradioMCPServer has no {missing}: port segdemo/agents.py"
    source = inspect.getsource(gradio.mcp)
    for call in ["self._prepare_tool_call_args(", "self._execute_tool_without_progress(",
                 "self._execute_tool_with_progress(", "self.pop_returned_state(", "self.get_input_schema(",
                 "gradio.mcp.GradioMCPServer(blocks)"]:
        where = source if "gradio.mcp." not in call else inspect.getsource(importlib.import_module("gradio.routes"))
        assert call in where, f"Gradio {gr.__version__} no longer calls {call[:-1]}: port segdemo/agents.py"


@pytest.mark.parametrize("module, name, ours", [
    ("gradio.exceptions", "InvalidPathError", inputs.InvalidPathError),
    ("gradio.utils", "get_function_params", inputs.get_function_params),
    ("gradio.processing_utils", "PUBLIC_HOSTNAME_WHITELIST", picture_urls.PUBLIC_HOSTNAME_WHITELIST),
    ("gradio.processing_utils", "hash_url", picture_urls.hash_url),
    ("gradio_client.utils", "strip_invalid_filename_characters", picture_urls.strip_invalid_filename_characters),
])
def test_the_internals_with_a_fallback_are_the_libraries_own(module, name, ours):
    """Each has a fallback that keeps the app serving and a line in the log; here the upgrade is told at once."""
    assert getattr(importlib.import_module(module), name, None) is ours, (
        f"{module}.{name} moved: segdemo serves with its fallback (its log says what is lost)")


def test_huggingface_hub_and_spaces_keep_what_segdemo_calls():
    http = importlib.import_module("huggingface_hub.utils._http")
    assert callable(getattr(http, "default_client_factory", None)), (
        "huggingface_hub.utils._http.default_client_factory moved: publish and deploy bound the shared session only")
    spaces = pytest.importorskip("spaces")
    assert callable(getattr(spaces, "disable_gradio_auto_wrap", None)), (
        "spaces.disable_gradio_auto_wrap moved: on ZeroGPU every event handler may ask for a GPU")


def _selectors_of_css(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return [selector for selector in re.findall(r"([^{};]+)\{", text) if not selector.strip().startswith("@")]


def _selectors_of_js(text: str) -> list[str]:
    text = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", text)  # comments quote file names ("confidence.webp")
    return [literal for literal in re.findall(r'"([^"\n]*)"', text)
            if re.search(r"(^|[\s,(>a-z])\.[A-Za-z]", literal) or "data-testid" in literal]


def gradio_names_used() -> dict[str, set[str]]:
    """Gradio's class names and test ids that segdemo's CSS and JS select, by the file that selects each."""
    used: dict[str, set[str]] = {}
    for path in sorted(SEGDEMO.glob("*.css")) + sorted(SEGDEMO.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        for selector in _selectors_of_css(text) if path.suffix == ".css" else _selectors_of_js(text):
            classes = {c for c in re.findall(r"\.([A-Za-z_][\w-]*)", selector) if not OWN_CLASSES.match(c)}
            testids = {f"data-testid={t}" for t in re.findall(r"data-testid=['\"]?([\w-]+)", selector)}
            for name in classes | testids:
                used.setdefault(name, set()).add(path.name)
    return used


def test_the_page_selects_what_gradios_frontend_still_has(frontend):
    """The page's script and rules select Gradio's elements by class and test id; a name Gradio dropped makes a rule
    or a script feature stop without a word (tests/test_browser.py sees it too, in minutes, where chromium runs)."""
    used = gradio_names_used()
    assert {"image-container", "data-testid=slider", "data-testid=toast-body", "tabitem"} <= set(used)
    missing = []
    for name, where in sorted(used.items()):
        if name.startswith("data-testid="):
            pattern = r"data-testid[=:\"'`\s]{1,4}" + re.escape(name.split("=", 1)[1]) + r"(?![\w-])"
        else:
            pattern = r"(?<![\w-])" + re.escape(name) + r"(?![\w-])"
        if not re.search(pattern, frontend):
            missing.append(f"{name} ({', '.join(sorted(where))})")
    missing += [f"{pattern} ({why})" for pattern, why in FRONTEND_FEATURES if not re.search(pattern, frontend)]
    assert not missing, f"Gradio {gr.__version__}'s frontend no longer has: " + "; ".join(missing)
