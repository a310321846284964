"""ZeroGPU readiness and the device switch, on any machine (the CUDA checks are in test_cuda.py).

Which functions ask ZeroGPU for a GPU is checked on the built app itself: a
recording stand-in for ``spaces.GPU`` is installed in ``sys.modules`` before
the UI is built, the way ``segdemo.gpu`` looks it up.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import subprocess
import sys
import types
import urllib.request
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from conftest import ROOT, start_app, stop_app
from gradio_client import Client, handle_file
from PIL import Image

from segdemo import gpu
from segdemo.devices import autocast_dtype, choose_device, describe_device, packed_copy, serving_autocast, to_host
from segdemo.inference import MAX_SAMPLES
from segdemo.visualize import OverlayLayer
from segdemo.failures import OUT_OF_MEMORY, failures_explained
from segdemo.service import SegmentationService, ShownOverlays
from segdemo.ui import build_demo
from segdemo.zoo import load_zoo

EXAMPLE = str(ROOT / "examples" / "camvid_0006R0_f03570.jpg")
NETWORK_ENDPOINTS = {"segment", "compare"}
EXAMPLE_RUNS = {"segment_examples": "segment", "compare_examples": "compare"}  # the run after an example loads


class RecordingSpaces(types.ModuleType):
    """Stands in for the ``spaces`` package: records what ``spaces.GPU`` decorates, and calls through."""

    def __init__(self) -> None:
        super().__init__("spaces")
        self.decorated: list[tuple[object, object]] = []  # (function, duration)

    def GPU(self, task=None, *, duration=None, size=None):  # noqa: N802 - spaces' own name
        def decorate(function):
            self.decorated.append((function, duration))

            @functools.wraps(function)
            def on_gpu(*args, **kwargs):
                on_gpu.durations.append(duration(*args, **kwargs) if callable(duration) else duration)
                return function(*args, **kwargs)

            on_gpu.zerogpu_stand_in = True
            on_gpu.durations = []
            return on_gpu

        return decorate(task) if callable(task) else decorate


def handler_of(fn):
    """The handler an event runs: through the app's wrapper that notes each run's result (``runs``)."""
    return getattr(fn, "runs", fn)


def wrapped(fn) -> bool:
    return getattr(handler_of(fn), "zerogpu_stand_in", False)


@pytest.fixture(scope="module")
def service() -> SegmentationService:
    return SegmentationService(load_zoo())


@pytest.fixture(scope="module")
def recorded(service):
    """The app built with the recording stand-in in place of ``spaces``: (stand-in, demo)."""
    stand_in = RecordingSpaces()
    saved = sys.modules.get("spaces")
    sys.modules["spaces"] = stand_in
    try:
        demo = build_demo(service)
    finally:
        if saved is None:
            sys.modules.pop("spaces", None)
        else:
            sys.modules["spaces"] = saved
    return stand_in, demo


# -- which functions ask for a GPU ----------------------------------------


def test_exactly_the_two_network_handlers_are_decorated(recorded, service):
    stand_in, _ = recorded
    functions = [function for function, _ in stand_in.decorated]
    assert sorted(f.__name__ for f in functions) == ["compare", "segment"]
    assert service.segment in functions and service.compare in functions
    durations = {function.__name__: duration for function, duration in stand_in.decorated}
    assert durations == {"segment": service.segment_gpu_seconds, "compare": service.compare_gpu_seconds}


def test_the_endpoints_and_their_examples_run_the_decorated_handlers_and_nothing_else_does(recorded):
    _, demo = recorded
    by_api = {block_fn.api_name: block_fn for block_fn in demo.fns.values()}
    assert NETWORK_ENDPOINTS | set(EXAMPLE_RUNS) <= set(by_api)
    for api_name, block_fn in by_api.items():
        assert wrapped(block_fn.fn) == (api_name in NETWORK_ENDPOINTS | set(EXAMPLE_RUNS)), api_name
    # a clicked example runs its tab's decorated handler, privately (not a third and fourth endpoint)
    for api_name, handler in EXAMPLE_RUNS.items():
        assert handler_of(by_api[api_name].fn).__wrapped__.__name__ == handler
        assert by_api[api_name].api_visibility == "private"


def test_the_decorated_handler_answers_exactly_as_the_plain_one(recorded, service):
    _, demo = recorded
    fn = handler_of(next(block_fn.fn for block_fn in demo.fns.values() if block_fn.api_name == "segment"))
    args = (EXAMPLE, "bayesian_segnet_lite", 0.55, 4, 3)
    through, plain = fn(*args), service.segment(*args)
    assert fn.durations == [service.segment_gpu_seconds(*args)]
    assert_same_answer(through, plain)


def test_the_decorated_compare_answers_exactly_as_the_plain_one(recorded, service):
    _, demo = recorded
    fn = handler_of(next(block_fn.fn for block_fn in demo.fns.values() if block_fn.api_name == "compare"))
    args = (EXAMPLE, 0.5, 2, 1)
    through, plain = fn(*args), service.compare(*args)
    assert fn.durations == [service.compare_gpu_seconds(*args)]
    assert_same_answer(through, plain)


def assert_same_answer(ours, theirs) -> None:
    """Same pictures pixel for pixel, same tables and figures; only timings and file names may differ."""
    if isinstance(ours, (tuple, list)) and isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_answer(a, b)
    elif isinstance(ours, dict) and isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key in ours:
            if not key.endswith("seconds"):
                assert_same_answer(ours[key], theirs[key])
    elif isinstance(ours, ShownOverlays) and isinstance(theirs, ShownOverlays):   # what re-blending starts from
        assert_same_answer(ours.picture_file, theirs.picture_file)
        assert len(ours.layer_files) == len(theirs.layer_files)
        for a, b in zip(map(OverlayLayer.load, ours.layer_files), map(OverlayLayer.load, theirs.layer_files)):
            assert np.array_equal(a.labels, b.labels) and np.array_equal(a.edges, b.edges)
    elif isinstance(ours, str) and isinstance(theirs, str) and is_file(ours):
        assert np.array_equal(load(ours), load(theirs))
    elif isinstance(ours, str) and isinstance(theirs, str):
        assert re.sub(r"\d+ ms", "_ ms", ours) == re.sub(r"\d+ ms", "_ ms", theirs)
    else:
        assert ours == theirs


def is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # an HTML legend, too long for a file name
        return False


def load(path: str) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# -- how long a request asks for ------------------------------------------


def test_the_gpu_time_asked_for_grows_with_the_monte_carlo_samples(service):
    bayesian = [service.segment_gpu_seconds(EXAMPLE, "bayesian_segnet_lite", 0.5, t, 0) for t in (1, 2, 8, 16, 32)]
    assert bayesian == sorted(bayesian) and bayesian[0] < bayesian[2] < bayesian[-1]
    compare = [service.compare_gpu_seconds(EXAMPLE, 0.5, t, 0) for t in (1, 8, 32)]
    assert compare[0] < compare[1] < compare[2]
    assert compare[1] > service.segment_gpu_seconds(EXAMPLE, "bayesian_segnet_lite", 0.5, 8, 0)  # two networks
    # FCN has no dropout: one pass whatever the slider says
    assert {service.segment_gpu_seconds(EXAMPLE, "fcn8s_lite", 0.5, t, 0) for t in (1, 8, 32)} == {gpu.duration_for(1)}
    assert all(isinstance(d, int) and 0 < d <= 60 for d in bayesian + compare)  # within ZeroGPU's default 60 s


def test_the_formula(service):
    assert gpu.duration_for(8) == int(np.ceil(gpu.BASE_SECONDS + 8 * gpu.SECONDS_PER_PASS))
    # more samples than the app allows are clamped, and what the handler will refuse asks for little
    assert service.segment_gpu_seconds(EXAMPLE, "bayesian_segnet_lite", 0.5, 10_000, 0) == gpu.duration_for(MAX_SAMPLES)
    for bad in ("many", None, float("nan"), float("inf")):
        assert service.segment_gpu_seconds(EXAMPLE, "bayesian_segnet_lite", 0.5, bad, 0) == gpu.duration_for(1)
    assert service.segment_gpu_seconds(None, "no such model", None, 8, None) == gpu.duration_for(8)


# -- off ZeroGPU: effect-free ---------------------------------------------


def test_off_zerogpu_the_real_spaces_gpu_returns_the_function_itself(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    pytest.importorskip("spaces")

    def handler(x):
        return x

    assert gpu.gpu_task(lambda x: 10)(handler) is handler


def test_the_app_built_with_the_real_spaces_serves_the_plain_handlers(service, monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    pytest.importorskip("spaces")
    demo = build_demo(service)
    by_api = {block_fn.api_name: handler_of(block_fn.fn) for block_fn in demo.fns.values()}
    assert by_api["segment"] == service.segment and by_api["compare"] == service.compare


def test_importing_spaces_is_cheap_and_patches_nothing_off_zerogpu():
    """In a fresh interpreter, as the app does it: after Gradio and torch."""
    code = (
        "import time, torch, gradio\n"
        "before = (torch.cuda.is_available, torch.device, torch.cuda.get_device_name, getattr(torch._C, '_cuda_init', 0))\n"
        "started = time.perf_counter()\n"
        "import spaces\n"
        "seconds = time.perf_counter() - started\n"
        "after = (torch.cuda.is_available, torch.device, torch.cuda.get_device_name, getattr(torch._C, '_cuda_init', 0))\n"
        "print(seconds, before == after, spaces.GPU(duration=5)(print) is print)\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "SPACES_ZERO_GPU"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300, check=True)
    seconds, unchanged, identity = out.stdout.split()
    assert unchanged == "True" and identity == "True"
    assert float(seconds) < 0.25, f"import spaces took {float(seconds):.3f} s after gradio"  # measured: 4 ms


def test_without_the_spaces_package_nothing_is_wrapped(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces now raises ImportError
    assert gpu.gpu_task(lambda: 1)(print) is print


def test_spaces_is_imported_first_and_auto_wrapping_switched_off_only_on_zerogpu(monkeypatch):
    calls = []
    stand_in = types.SimpleNamespace(disable_gradio_auto_wrap=lambda: calls.append("off"))
    monkeypatch.setitem(sys.modules, "spaces", stand_in)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    gpu.import_spaces_first()
    assert calls == [] and not gpu.on_zerogpu()
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    gpu.import_spaces_first()
    assert calls == ["off"] and gpu.on_zerogpu()


SPACES_STAND_IN = """
import sys
if "gradio" in sys.modules and not hasattr(sys.modules["gradio"], "Blocks"):
    raise ImportError("like the real package, refuses to be imported by Gradio half-way through its own import")
torch_already_imported = "torch" in sys.modules
auto_wrap = ["on"]
def disable_gradio_auto_wrap():
    auto_wrap[0] = "off"
def gradio_auto_wrap(task):
    return task
def GPU(task=None, *, duration=None, size=None):
    return task if callable(task) else (lambda function: function)
"""


def test_on_zerogpu_app_py_imports_spaces_before_torch(tmp_path):
    """ZeroGPU's ``spaces`` must patch torch before anything touches CUDA, so app.py imports it first there."""
    (tmp_path / "spaces.py").write_text(SPACES_STAND_IN)
    code = (
        "import runpy\n"
        "runpy.run_path('app.py', run_name='built_not_launched')\n"
        "import spaces\n"
        "print(spaces.torch_already_imported, spaces.auto_wrap[0])\n"
    )
    # the stand-in first; a PYTHONPATH already set (packages carried to a machine that lacks them) still counts
    python_path = os.pathsep.join(filter(None, [str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "SPACES_ZERO_GPU": "true", "PYTHONPATH": python_path, "SEGDEMO_DEVICE": "cpu"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "off"]


# -- the device switch ----------------------------------------------------


def test_segdemo_device_cpu_is_honoured(monkeypatch, caplog):
    monkeypatch.setenv("SEGDEMO_DEVICE", "cpu")
    with caplog.at_level(logging.INFO, logger="segdemo.devices"):
        assert choose_device() == torch.device("cpu")
    assert "SEGDEMO_DEVICE=cpu" in caplog.text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback where there is no CUDA GPU")
def test_segdemo_device_cuda_without_a_gpu_falls_back_to_the_cpu_with_a_message(monkeypatch, caplog):
    monkeypatch.setenv("SEGDEMO_DEVICE", "cuda")
    with caplog.at_level(logging.INFO, logger="segdemo.devices"):
        assert choose_device() == torch.device("cpu")
    assert "SEGDEMO_DEVICE=cuda, but" in caplog.text and "serving on the CPU instead" in caplog.text


def test_a_misspelt_device_is_reported_and_ignored(monkeypatch, caplog):
    monkeypatch.setenv("SEGDEMO_DEVICE", "gpu0")
    with caplog.at_level(logging.INFO, logger="segdemo.devices"):
        device = choose_device()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert "ignoring SEGDEMO_DEVICE='gpu0'" in caplog.text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback where there is no CUDA GPU")
def test_the_real_server_asked_for_cuda_without_a_gpu_serves_on_the_cpu_and_says_so():
    process, url, log = start_app({"SEGDEMO_DEVICE": "cuda"})
    try:
        client = Client(url, verbose=False)
        info, figures = client.predict(handle_file(EXAMPLE), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")[6:8]
        assert figures["device"].startswith("CPU (") and f"on {figures['device']}" in info
        with urllib.request.urlopen(url + "config", timeout=30) as response:
            config = json.loads(response.read())
        models_tab = [c["props"].get("value", "") for c in config["components"] if c.get("type") == "markdown"]
        assert any(f"Served on:** {figures['device']}" in str(value) for value in models_tab)
        assert "SEGDEMO_DEVICE=cuda, but" in log.read_text()
        assert process.poll() is None
    finally:
        stop_app(process)


# -- the CPU path is untouched; results come back in one copy --------------


def test_on_the_cpu_nothing_is_cast_or_copied():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu) is None and not torch.is_autocast_enabled()
    with serving_autocast(cpu):
        assert not torch.is_autocast_enabled("cpu")
    probs, labels = torch.rand(3, 4, 5), torch.randint(0, 11, (4, 5))
    out = to_host(probs, labels, None)
    assert out[0] is probs and out[1] is labels and out[2] is None
    threads = torch.get_num_threads()
    try:
        for count, named in ((1, "CPU (1 thread)"), (2, "CPU (2 threads)")):   # "1 threads" on a one-core Space
            torch.set_num_threads(count)
            assert describe_device(cpu) == named
    finally:
        torch.set_num_threads(threads)


def test_the_single_copy_gives_every_map_back_exactly():
    probs = torch.rand(11, 37, 53)
    labels = torch.randint(0, 11, (37, 53))
    ent = torch.rand(37, 53).double()
    out = packed_copy((probs, labels, None, ent), torch.device("cpu"))
    assert out[2] is None
    for before, after in zip((probs, labels, ent), (out[0], out[1], out[3])):
        assert after.dtype == before.dtype and after.shape == before.shape
    assert torch.equal(out[0], probs) and torch.equal(out[1], labels)
    assert torch.equal(out[3], ent.float().double())  # float32 on the way: what predict sends is float32 already


# -- a GPU failure gets the CPU path's plain message -----------------------


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total capacity)"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
        RuntimeError("CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
    ],
    ids=["OutOfMemoryError", "cudaMalloc", "cuBLAS"],
)
def test_a_gpu_out_of_memory_gets_the_plain_out_of_memory_message(error):
    with pytest.raises(gr.Error) as raised:
        with failures_explained():
            raise error
    assert raised.value.message == OUT_OF_MEMORY


def test_another_cuda_error_gets_one_plain_line():
    error_type = getattr(torch, "AcceleratorError", RuntimeError)
    with pytest.raises(gr.Error) as raised:
        with failures_explained():
            raise error_type("CUDA error: an illegal instruction was encountered\nCompile with `TORCH_USE_CUDA_DSA`")
    assert raised.value.message == "The model could not process this picture: CUDA error: an illegal instruction was encountered"
