"""segdemo.worker: every request's torch work on one thread, in each process."""

from __future__ import annotations

import contextvars
import multiprocessing
import threading
import time

import pytest
import torch

from segdemo.worker import RequestThread


def test_calls_from_many_threads_run_on_one_thread_and_make_no_new_openmp_threads():
    worker = RequestThread(name="test-inference")
    seen: list[int] = []

    def convolve() -> int:
        x = torch.randn(1, 8, 64, 64)
        torch.nn.functional.conv2d(x, torch.randn(8, 8, 3, 3), padding=1)  # an OpenMP parallel region
        return threading.get_ident()

    worker.run(convolve)  # the team is made here
    before = threading.active_count()
    callers = [threading.Thread(target=lambda: seen.append(worker.run(convolve))) for _ in range(6)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert len(seen) == 6 and len(set(seen)) == 1 and seen[0] != threading.get_ident()
    assert threading.active_count() == before  # (Python's view; OpenMP's own threads are checked by test_faults)


def test_exceptions_reach_the_caller_and_the_thread_serves_on():
    worker = RequestThread(name="test-inference")

    def fail() -> None:
        raise MemoryError("picture too big")

    with pytest.raises(MemoryError, match="picture too big"):
        worker.run(fail)
    assert worker.run(lambda a, b=0: a + b, 2, b=3) == 5


def test_the_callers_context_variables_are_seen_and_nested_calls_do_not_wait_on_themselves():
    worker = RequestThread(name="test-inference")
    request = contextvars.ContextVar("request", default=None)
    request.set("visitor 7")
    assert worker.run(lambda: worker.run(request.get)) == "visitor 7"


def _run_in_child(worker: RequestThread, queue) -> None:
    queue.put(worker.run(lambda: 41 + 1))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_gets_a_thread_of_its_own_instead_of_waiting_on_the_parents():
    """ZeroGPU runs decorated handlers in a forked process: the parent's thread is not there."""
    worker = RequestThread(name="test-inference")
    worker.run(lambda: None)  # the parent's thread exists, idle
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run_in_child, args=(worker, queue))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0 and queue.get(timeout=5) == 42


def _write_in_child(queue) -> None:
    from PIL import Image

    from segdemo.imagefiles import write_images

    queue.put(sorted(write_images({"picture": Image.new("RGB", (8, 6), (10, 20, 30))})))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_writes_its_results_with_encoding_threads_of_its_own():
    """The result pictures are encoded on a pool of threads the server starts with its first result (or re-blend,
    or class map): a child forked after that (ZeroGPU's) inherited the pool without its threads and hung."""
    from PIL import Image

    from segdemo.imagefiles import write_images

    write_images({"picture": Image.new("RGB", (8, 6))})  # the parent's encoding threads now exist
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_write_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0 and queue.get(timeout=5) == ["picture"]


def test_work_gradio_let_go_of_cannot_pile_up_behind_the_thread():
    """A cancelled request frees Gradio's slot while its work still waits here: 8 runs joined and cancelled made the
    next visitor wait 52 s. Past ``max_waiting`` waiting, a call is refused at once (and the thread serves on)."""
    from segdemo.worker import Busy
    worker = RequestThread(name="test-busy", max_waiting=2)
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "done"

    results: list[str] = []
    callers = [threading.Thread(target=lambda: results.append(worker.run(slow))) for _ in range(3)]
    callers[0].start()
    assert started.wait(5)                    # one runs
    for caller in callers[1:]:
        caller.start()                        # two wait
    deadline = threading.Event()
    while worker._waiting < 2 and not deadline.wait(0.01):
        pass
    with pytest.raises(Busy):
        worker.run(slow)                      # a third to wait is refused, at once
    release.set()
    for caller in callers:
        caller.join(10)
    assert results == ["done"] * 3
    assert worker.run(lambda: "again") == "again"   # the count went back down


def test_the_app_refuses_in_words_when_work_piles_up(monkeypatch):
    """The visitor gets a sentence, not "The model could not process this picture"."""
    import gradio as gr
    from segdemo import failures
    from segdemo.worker import Busy
    with pytest.raises(gr.Error, match="busy with earlier requests that were cancelled"):
        with failures.failures_explained():
            raise Busy("2 requests wait")


def test_a_refusal_lasts_only_until_the_run_under_way_ends():
    """The message had said "try again in a minute", where the refusal ends as soon as the run under way does (a
    waiting one then starts): 1.8-2.8 s after 8 cancelled runs on 2 CPU cores. It now says "a few seconds"."""
    from segdemo import failures
    from segdemo.worker import Busy
    assert "a few seconds" in failures.SERVER_BUSY and "minute" not in failures.SERVER_BUSY
    worker = RequestThread(name="test-refusal-ends", max_waiting=2)
    releases = [threading.Event() for _ in range(4)]
    started = [threading.Event() for _ in range(4)]

    def run(index: int) -> int:
        started[index].set()
        releases[index].wait(10)
        return index

    callers = [threading.Thread(target=worker.run, args=(run, index)) for index in range(3)]
    callers[0].start()
    assert started[0].wait(5)                  # one runs
    for caller in callers[1:]:
        caller.start()                         # two wait
    while worker._waiting < 2:
        time.sleep(0.01)
    with pytest.raises(Busy):
        worker.run(run, 3)
    releases[0].set()                          # the run under way ends: the next starts, one waits
    assert started[1].wait(5)
    late = threading.Thread(target=worker.run, args=(run, 3))
    late.start()                               # taken at once, though two cancelled runs are not done
    for release in releases[1:]:
        release.set()
    for caller in (*callers, late):
        caller.join(10)
    assert started[3].is_set()
