"""A link to the app previews as the app (its title, a sentence, a picture of both networks), not as Gradio."""

from __future__ import annotations

import gzip
import os
import shutil
from email.message import Message
import urllib.request
from html.parser import HTMLParser
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, start_app, stop_app
from segdemo.link_preview import CARD, CARD_SIZE, DESCRIPTION, ICON, ICON_SIZE, main, rewrite_page

TITLE = "segdemo: FCN vs SegNet"  # the page's title (segdemo/ui.py)


class HeadTags(HTMLParser):
    """The preview tags (``<meta property|name=...>``) and the title of a page's head, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []
        self.title: str | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            self.tags.append((found.get("property") or found.get("name"), found.get("content") or ""))
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.tags if key == name]


def page(url: str, headers: dict[str, str] | None = None) -> tuple[bytes, Message]:
    """The body and the headers (any case) of a GET of ``url``."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return response.read(), response.headers


def head_tags(html: str) -> HeadTags:
    parser = HeadTags()
    parser.feed(html.split("<script", 1)[0])  # the head's tags; the page's scripts hold its configuration
    return parser


def test_the_page_previews_as_the_app_with_its_own_address_and_picture(app_url):
    body, headers = page(app_url)
    html = body.decode("utf-8")
    tags = head_tags(html)
    assert tags.title == TITLE
    for name, value in [("og:title", TITLE), ("twitter:title", TITLE), ("og:description", DESCRIPTION),
                        ("twitter:description", DESCRIPTION), ("og:url", app_url),
                        ("og:image", app_url + "link-preview.jpg"), ("twitter:image", app_url + "link-preview.jpg"),
                        ("twitter:card", "summary_large_image"), ("og:image:width", "1200"),
                        ("og:image:height", "630")]:
        assert tags.values(name) == [value], (name, tags.values(name))
    # nothing of Gradio's own preview is left: its title, its invitation, its picture, its address
    shown = " ".join(value for _, value in tags.tags)
    for gradio_s in ("Click to try out the app!", "gradio.app", "{url}", "header-image", "@Gradio", "@teamGradio"):
        assert gradio_s not in shown, gradio_s
    assert all(value != "Gradio" for _, value in tags.tags)
    assert b'<meta charset="utf-8"' in body[:1024]  # the browser reads the character set from the first 1024 bytes
    assert int(headers["Content-Length"]) == len(body)

    picture, headers = page(app_url + "link-preview.jpg")
    assert headers["Content-Type"] == "image/jpeg"
    with Image.open(BytesIO(picture)) as card:
        assert card.format == "JPEG" and card.size == CARD_SIZE


def test_behind_a_proxy_the_preview_names_the_public_address(app_url):
    """What the Space's own address (owner-name.hf.space) gives: its proxy's headers, as Gradio reads them."""
    body, _ = page(app_url, {"X-Forwarded-Host": "someone-segdemo.hf.space", "X-Forwarded-Proto": "https"})
    tags = head_tags(body.decode("utf-8"))
    assert tags.values("og:url") == ["https://someone-segdemo.hf.space/"]
    assert tags.values("og:image") == ["https://someone-segdemo.hf.space/link-preview.jpg"]


def test_the_gzipped_page_carries_the_same_preview(app_url):
    """The preview is written before the page is compressed (the middleware sits inside the gzip)."""
    plain, _ = page(app_url)
    zipped, headers = page(app_url, {"Accept-Encoding": "gzip"})
    assert headers.get("Content-Encoding") == "gzip"
    assert head_tags(gzip.decompress(zipped).decode("utf-8")).tags == head_tags(plain.decode("utf-8")).tags


def test_on_a_space_whose_environment_asks_for_ssr_the_page_is_still_the_apps(tmp_path):
    """A Space sets GRADIO_SSR_MODE=true (and has Node): Gradio 6.31 then put its Node server in front of Python's,
    and the page it rendered kept Gradio's preview ("Gradio", "{url}", "Click to try out the app!"), answered
    /link-preview.jpg with the page and came uncompressed, as this test found before segdemo asked for the page
    rendered in the browser (ssr_mode=False, the page every other test reads)."""
    if shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("node is not installed: .ci/run installs it for tests/js")
        pytest.skip("Gradio's SSR needs Node on the PATH, as a Space has it")
    process, url, log = start_app({"GRADIO_SSR_MODE": "true", "GRADIO_TEMP_DIR": str(tmp_path / "cache")})
    try:
        announced = log.read_text()
        body, headers = page(url, {"Accept-Encoding": "gzip"})
        picture, picture_headers = page(url + "link-preview.jpg")
    finally:
        stop_app(process)
    assert "with SSR" not in announced, announced[-500:]
    assert headers.get("Content-Encoding") == "gzip"
    tags = head_tags(gzip.decompress(body).decode("utf-8"))
    assert tags.title == TITLE and tags.values("og:title") == [TITLE] and tags.values("og:url") == [url]
    assert picture_headers["Content-Type"] == "image/jpeg" and picture == CARD.read_bytes()


def test_a_page_not_laid_out_as_gradios_is_left_as_it_is():
    for html in ("<html><body>no head</body></html>", "<html><head><title>Own</title></head></html>"):
        assert rewrite_page(html, TITLE) == html
    # without Gradio's address in the page, the tags that need it are left out rather than guessed
    tags = head_tags(rewrite_page('<html>\n<head>\n<meta property="og:title" content="Gradio" />\n</head>', TITLE))
    assert tags.values("og:title") == [TITLE] and tags.values("og:url") == [] and tags.values("og:image") == []
    # and without the picture (a checkout that lacks docs/link-preview.jpg), no tag names it
    gradio_s = '<html>\n<head>\n<script>window.gradio_config = {"root":"https://a.example"};</script>'
    tags = head_tags(rewrite_page(gradio_s, TITLE, picture=False).replace("<script", "<br"))
    assert tags.values("og:url") == ["https://a.example/"] and not any("image" in name for name, _ in tags.tags)


def test_the_card_shows_both_networks_on_the_bundled_frame(tmp_path, capsys):
    out = tmp_path / "card.jpg"
    assert main(["--out", str(out)]) == 0
    assert "1200x630" in capsys.readouterr().out
    with Image.open(out) as made, Image.open(CARD) as shipped:
        assert made.size == shipped.size == CARD_SIZE
        made_pixels = np.asarray(made.convert("RGB"), dtype=np.int16)
        shipped_pixels = np.asarray(shipped.convert("RGB"), dtype=np.int16)
    # the shipped card is what the command makes from the shipped weights (JPEG's own noise aside)
    assert np.abs(made_pixels - shipped_pixels).mean() < 2.0
    # its two panels are two different networks' overlays of the same frame
    width = CARD_SIZE[0]
    left, right = made_pixels[170:560, 40:560], made_pixels[170:560, width // 2 + 20:width // 2 + 540]
    assert np.abs(left - right).mean() > 3.0
    assert CARD.stat().st_size < 300_000 and CARD.is_relative_to(ROOT / "docs")


def test_the_pages_icon_is_a_class_map_the_command_makes_from_the_shipped_weights(app_url, tmp_path, capsys):
    """The tab's icon (and a bookmark's, and the Space installed as an app's) was Gradio's logo. It is the shipped
    FCN's class map of a bundled frame, each pixel a CamVid class colour, made again exactly by the command."""
    from segdemo.classes import CAMVID_PALETTE

    served, headers = page(app_url + "favicon.ico")
    assert served == ICON.read_bytes() and headers["Content-Type"] == "image/png"
    assert main(["--out", str(tmp_path / "card.jpg"), "--icon", str(tmp_path / "icon.png")]) == 0
    assert f"{ICON_SIZE}x{ICON_SIZE}" in capsys.readouterr().out
    with Image.open(tmp_path / "icon.png") as made, Image.open(ICON) as shipped:
        assert made.mode == shipped.mode == "P" and made.size == shipped.size == (ICON_SIZE, ICON_SIZE)
        made_classes, shipped_classes = np.asarray(made), np.asarray(shipped)
        colours = {tuple(colour) for colour in np.asarray(shipped.convert("RGB")).reshape(-1, 3)}
    assert (made_classes != shipped_classes).mean() < 0.005   # the shipped weights' map (a tie may fall either way)
    assert colours <= {tuple(colour) for colour in CAMVID_PALETTE} and len(colours) >= 4   # a street's classes
    assert np.bincount(shipped_classes.ravel(), minlength=11)[3] > 0.25 * shipped_classes.size   # the road ahead
    assert ICON.stat().st_size < 8_000
