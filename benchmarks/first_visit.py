"""What a first visit to the app downloads, and what one result costs a visitor, over the wire.

    python benchmarks/first_visit.py [--url http://127.0.0.1:7860/] [--json benchmarks/results/first-visit.json]

Start the app first (``python app.py``). In Debian's chromium (Playwright,
cache off) at a desktop's width (1000 px) and a phone's (390 px, 3 device
pixels to a CSS px), it sums the bytes each response took on the wire
(compressed where it was: CDP's ``encodedDataLength``) by kind, until the
UI is built, its script has run and the example gallery's pictures have
loaded, and without those pictures ("before any picture"); then the bytes
of one Segment and one Compare result on a bundled frame (every picture the
results show), and on a 12-megapixel photo (the bundled frame enlarged to
4032x3024), which the page has drawn no wider than it shows it
(segdemo/page_widths.py). Its peer, measured in the same run: the pictures of
the same two results as the API gives them (``gradio_client``, no page width:
2048 pixels wide), which every page fetched before.
It also gives the page itself whole and gzipped, as a client that asks for
no compression and one that does get it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"
WIDTHS = {"desktop": (1000, 1), "phone": (390, 3)}


def page_bytes(url: str) -> dict[str, int]:
    """The page as sent whole and gzipped."""
    whole = urllib.request.urlopen(url, timeout=30).read()
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        sent = answer.read()
        zipped = answer.headers.get("Content-Encoding") == "gzip"
    return {"whole": len(whole), "gzipped": len(sent) if zipped else len(gzip.compress(whole))}


class Wire:
    """Bytes on the wire per request, from the DevTools protocol, by resource kind."""

    def __init__(self, page) -> None:
        self.kinds: dict[str, str] = {}
        self.bytes: dict[str, float] = {}
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.cdp.on("Network.responseReceived",
                    lambda e: self.kinds.__setitem__(e["requestId"], e.get("type", "Other")))
        self.cdp.on("Network.loadingFinished",
                    lambda e: self.bytes.__setitem__(e["requestId"], e.get("encodedDataLength", 0)))

    def mark(self) -> dict[str, float]:
        return dict(self.bytes)

    def since(self, mark: dict[str, float]) -> dict[str, float]:
        """Bytes by kind of the requests finished since ``mark``, and their total and count."""
        out: dict[str, float] = defaultdict(float)
        count = pictures = 0
        for request, size in self.bytes.items():
            if request not in mark:
                kind = self.kinds.get(request, "Other")
                out[kind] += size
                count += 1
                pictures += kind == "Image"
        out["total"] = sum(out.values())
        out["requests"], out["picture requests"] = count, pictures
        return dict(out)


def loaded(page, selector: str) -> None:
    page.wait_for_function("sel => { const shown = [...document.querySelectorAll(sel)].filter(i => i.offsetParent);"
                           " return shown.length && shown.every(i => i.complete && i.naturalWidth > 0); }",
                           arg=selector, timeout=60_000, polling=200)


def photo_results(page, wire: Wire, photo: Path) -> dict[str, dict[str, float]]:
    """The bytes of one Segment and one Compare result on ``photo``, once its upload is shown (the copy of the
    upload that Gradio sends back to the picture box is not counted)."""
    figures = {}
    for tab, button, result in (("Segment", "Segment", ".segdemo-slider img"), ("Compare", "Compare",
                                                                                   "#compare-differ img")):
        page.get_by_role("tab", name=tab).click()
        page.mouse.wheel(0, -8000)
        before = page.evaluate("sel => document.querySelector(sel)?.src ?? ''", result)
        page.locator(f"#{tab.lower()}-picture input[type=file]").set_input_files(str(photo))
        page.wait_for_function("sel => { const img = document.querySelector(sel); "
                               "return img && /photo\\.jpg$/.test(img.src) && img.complete && img.naturalWidth; }",
                               arg=f"#{tab.lower()}-picture img", timeout=120_000)
        time.sleep(1)
        mark = wire.mark()
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_function("([sel, before]) => { const img = document.querySelector(sel); "
                               "return img && img.src !== before && img.src.includes('/segdemo/'); }",
                               arg=[result, before], timeout=180_000)
        page.mouse.wheel(0, 8000)
        loaded(page, ".segdemo-map img" + (", #compare-maps img" if tab == "Compare" else ", .segdemo-slider img"))
        time.sleep(1)
        figures[f"12 MP photo: {tab}"] = wire.since(mark)
    return figures


def api_picture_bytes(url: str, photo: Path) -> dict[str, int]:
    """The peer: the pictures of the same results as the API gives them, at full size (no page width sent)."""
    from gradio_client import Client, handle_file
    from http_api import client_downloads

    from segdemo.zoo import DEFAULT_MODEL

    client = Client(url, verbose=False, download_files=client_downloads())
    out = {}
    for name, answer in (
        ("12 MP photo: Segment", client.predict(handle_file(str(photo)), DEFAULT_MODEL, 0.55, 8, 0,
                                                api_name="/segment")),  # the page's model
        ("12 MP photo: Compare", client.predict(handle_file(str(photo)), 0.55, 8, 0, api_name="/compare")),
    ):
        files: set[str] = set()

        def walk(item: object) -> None:
            if isinstance(item, str) and item.endswith((".webp", ".png")) and Path(item).is_file():
                files.add(item)
            elif isinstance(item, (list, tuple)):
                for part in item:
                    walk(part)
            elif isinstance(item, dict):
                walk(item.get("value"))

        walk(answer)
        out[name] = sum(Path(f).stat().st_size for f in files)
    return out


def visit(browser, url: str, width: int, scale: int, photo: Path) -> dict[str, dict[str, float]]:
    page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=scale)
    wire = Wire(page)
    start = wire.mark()
    page.goto(url)
    page.get_by_role("tab", name="Models").wait_for(timeout=60_000)
    page.wait_for_function("() => window.segdemoResults && document.getElementById('segdemo-app-width')",
                           timeout=30_000)
    page.mouse.wheel(0, 2000)
    loaded(page, "#segment-examples img, .gallery img")
    time.sleep(1)
    first = wire.since(start)
    # "before any picture": all but the pictures, which load while the script runs or once scrolled to
    before = {k: v for k, v in first.items() if k != "Image"}
    before.update(total=first["total"] - first.get("Image", 0), requests=first["requests"] - first["picture requests"])
    figures = {"before any picture": before, "with the examples": first}
    page.mouse.wheel(0, -5000)
    mark = wire.mark()
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.get_by_text("Mean confidence").first.wait_for(timeout=120_000)
    time.sleep(1)
    page.mouse.wheel(0, 4000)
    loaded(page, ".segdemo-map img, .segdemo-slider img")
    time.sleep(1)
    figures["one Segment result"] = wire.since(mark)
    page.get_by_role("tab", name="Compare").click()
    mark = wire.mark()
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("disagree on").wait_for(timeout=120_000)
    page.mouse.wheel(0, 8000)
    loaded(page, "#compare-maps img, .segdemo-map img")
    time.sleep(1)
    figures["one Compare result"] = wire.since(mark)
    figures.update(photo_results(page, wire, photo))
    page.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from http_api import scratch_folder

    with scratch_folder() as scratch:
        results: dict[str, object] = {"page": page_bytes(args.url)}
        photo = scratch / "photo.jpg"
        with Image.open(EXAMPLE) as frame:
            frame.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC).save(photo, quality=90)
        print(f"the page: {results['page']['whole'] / 1000:.0f} kB whole, {results['page']['gzipped'] / 1000:.0f} kB "
              "gzipped")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox"])
            for name, (width, scale) in WIDTHS.items():
                figures = visit(browser, args.url, width, scale, photo)
                results[name] = figures
                for stage, kinds in figures.items():
                    parts = ", ".join(f"{k} {v / 1000:.0f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])
                                      if k not in ("total", "requests", "picture requests") and v >= 1000)
                    print(f"{name} ({width} px): {stage}: {kinds['total'] / 1000:.0f} kB in {kinds['requests']:.0f} "
                          f"requests ({parts})")
            browser.close()
        results["API (2048 px)"] = api_picture_bytes(args.url, photo)
        for stage, size in results["API (2048 px)"].items():
            print(f"API: {stage}: its pictures {size / 1000:.0f} kB at full size")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
