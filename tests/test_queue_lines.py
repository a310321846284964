"""A busy Space: with the networks' queue full, what needs no network still answers at once.

Gradio's size check counted every event waiting. With ``SEGDEMO_QUEUE_SIZE`` network runs waiting, a visitor who
already had a result moved the opacity slider and nothing happened, with no word on the page: the re-blend was
refused as the queue was full. Each line of events (the networks' runs, the re-blends, the browser copies) now
waits up to the size of its own (``RefusingBlocks.queue``); the networks' line is refused as before
(tests/test_load.py)."""

from __future__ import annotations

import threading
import time

from conftest import start_app, stop_app
from gradio_client import Client, handle_file
from test_browser import (  # noqa: F401
    EXAMPLE,
    PICTURE_SOURCES,
    browser,
    keys_to_the_end,
    only_class_colours,
    segment_the_example,
)


def test_with_the_networks_queue_full_the_opacity_slider_still_reblends_at_once(browser):
    process, url, _ = start_app({"SEGDEMO_QUEUE_SIZE": "1"})
    stop, refused = threading.Event(), threading.Event()

    def visitor_of_the_api(client: Client) -> None:
        """Bayesian SegNet at 32 samples, again and again: one running, one waiting, the rest refused."""
        while not stop.is_set():
            try:
                client.predict(handle_file(str(EXAMPLE)), "bayesian_segnet_lite", 0.5, 32, 0, api_name="/segment")
            except Exception as error:  # noqa: BLE001
                assert "Queue is full" in str(error), error
                refused.set()
                time.sleep(0.05)

    threads = []
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        overlay = segment_the_example(page, url)
        first = page.evaluate(PICTURE_SOURCES, overlay)[-1]
        threads = [threading.Thread(target=visitor_of_the_api, args=(Client(url, verbose=False),), daemon=True)
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        assert refused.wait(timeout=60), "the networks' queue never filled"
        keys_to_the_end(page, page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity"))
        deadline = time.monotonic() + 20  # a re-blend takes milliseconds; a network run 32 samples, several seconds
        while not only_class_colours(shown := page.evaluate(PICTURE_SOURCES, overlay)[-1], keyed=False) \
                or shown == first:
            assert time.monotonic() < deadline, "the overlay stayed at the old opacity, the networks' queue full"
            time.sleep(0.2)
        page.close()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        stop_app(process)
