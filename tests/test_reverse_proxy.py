"""Served at a path of another site, behind Debian's nginx with the README's location block: the API, a phone-sized
upload and the page in a browser all work, and the page asks for nothing outside its path.

Without ``GRADIO_ROOT_PATH`` such a page came up blank (its scripts and pictures asked for at the site's root), and
with nginx's defaults a photo over 1 MB was refused before segdemo saw it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from conftest import ROOT, free_port, start_app, stop_app
from segdemo.link_preview import CARD_SIZE
from test_browser import IMAGES_SHOWN, SEGMENT_IMAGES, browser, click_map, open_app, wait_for_reading  # noqa: F401
from test_link_preview import head_tags

PATH = "/segdemo/"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REQUEST = re.compile(r'"(?:GET|POST|HEAD|PUT|DELETE|OPTIONS) (\S+) HTTP/[\d.]+" (\d{3}) ')


def readme_location_block() -> str:
    """The nginx location block the README gives, as written there."""
    readme = (ROOT / "README.md").read_text()
    after = readme.split("<!-- nginx location:", 1)[1]
    return re.search(r"```nginx\n(.*?)```", after, re.S).group(1)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """The app started with GRADIO_ROOT_PATH, and nginx serving it at /segdemo/: (the site's URL of the app, the
    access log)."""
    if not Path(NGINX).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed: .ci/run must install Debian's nginx-light")
        pytest.skip("Debian's nginx is not installed (apt-get install nginx-light)")
    process, url, _ = start_app({"GRADIO_ROOT_PATH": PATH.rstrip("/")})
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    location = readme_location_block().replace("http://127.0.0.1:7860/", url)
    temp_paths = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                            "uwsgi", "scgi"))
    # started as root, nginx runs its workers as nobody, who may not enter pytest's 0700 folders to keep a body
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(f"""
{user}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    {temp_paths}
    server {{
        listen 127.0.0.1:{port};
        {location}
    }}
}}
""")
    nginx = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                             stderr=subprocess.PIPE, text=True)
    site = f"http://127.0.0.1:{port}{PATH}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(site + "gradio_api/info", timeout=2):
                    break
            except OSError:
                if nginx.poll() is not None:
                    raise RuntimeError(f"nginx exited: {nginx.stderr.read()}") from None
                time.sleep(0.1)
        yield site, folder / "access.log"
    finally:
        nginx.terminate()
        nginx.wait(timeout=15)
        stop_app(process)


def requests_logged(log: Path) -> list[tuple[str, int]]:
    return [(path, int(status)) for path, status in REQUEST.findall(log.read_text())]


def test_a_phone_sized_photo_is_segmented_through_the_proxy(proxied, tmp_path):
    site, log = proxied
    frame = next((ROOT / "examples").glob("*.jpg"))
    with Image.open(frame) as picture:  # a 12-megapixel photo's size on the wire: over nginx's default 1 MB
        big = np.asarray(picture.convert("RGB").resize((2400, 1800), Image.Resampling.BICUBIC)).astype(np.int16)
    noise = np.random.default_rng(0).integers(-10, 11, big.shape)
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(big + noise, 0, 255).astype(np.uint8)).save(photo, quality=95)
    assert photo.stat().st_size > 1.5 * 2**20  # 1.6 MB

    client = Client(site, verbose=False)
    result = client.predict(handle_file(str(photo)), "fcn8s_lite", 0.5, 1, 0, api_name="/segment")
    details = next(value for value in result if isinstance(value, dict) and "model" in value)
    assert details["model"] == "fcn8s_lite"
    with Image.open(result[2]) as confidence:  # a map, downloaded through the proxy
        assert confidence.size[0] > 0
    uploads = [status for path, status in requests_logged(log) if path.startswith(PATH + "gradio_api/upload")]
    assert uploads and set(uploads) == {200}


def test_in_a_browser_the_page_runs_an_example_reads_a_pixel_and_asks_nothing_outside_its_path(proxied, browser):  # noqa: F811
    site, log = proxied
    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    open_app(page, site)
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES), timeout=90_000)
    click_map(page, "#segment-confidence", 0.3, 0.6)
    assert "of the 480x360 result" in wait_for_reading(page, "#segment-pixel")
    sources = page.evaluate("[...document.querySelectorAll('img')].map(img => img.src).filter(s => s.includes('file='))")
    assert sources and all(src.startswith(site + "gradio_api/file=") for src in sources), sources[:3]
    link = page.locator("#segment-class-map a[data-testid=download-link]").get_attribute("href")
    assert link.startswith(site) and page.request.get(link).status == 200
    page.close()
    requested = requests_logged(log)
    outside = {path for path, _ in requested if not path.startswith(PATH)} - {"/favicon.ico"}
    failed = [(path, status) for path, status in requested if path.startswith(PATH) and status >= 400]
    assert not outside and not failed, (outside, failed)


def test_a_link_to_the_site_s_path_previews_with_a_picture_served_there(proxied):
    """A link shared from a site of one's own: the preview's address and picture are under its path, and the picture
    comes through the proxy (with ``GRADIO_ROOT_PATH``, the app's root as Gradio worked it out for the page)."""
    site, _ = proxied
    with urllib.request.urlopen(site, timeout=30) as response:
        tags = head_tags(response.read().decode("utf-8"))
    assert tags.values("og:url") == [site] and tags.values("og:image") == [site + "link-preview.jpg"]
    with urllib.request.urlopen(site + "link-preview.jpg", timeout=30) as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        with Image.open(BytesIO(response.read())) as card:
            assert card.size == CARD_SIZE


def test_an_agent_calls_the_tools_through_the_proxy_and_their_links_are_the_sites(proxied):
    """MCP at the site's path: the tool's answer links each map at the path, where nginx serves it."""
    import base64

    from test_agents import as_an_agent, in_a_thread_of_its_own

    site, log = proxied
    frame = next((ROOT / "examples").glob("*.jpg"))
    picture = "data:image/jpeg;base64," + base64.b64encode(frame.read_bytes()).decode()
    call = ("segment", {"image": picture, "model_name": "fcn8s_lite"}, False)
    tools, (answer,) = in_a_thread_of_its_own(as_an_agent(site, [call]))
    assert {tool.name for tool in tools} == {"segment", "compare"}
    assert not answer.isError, answer.content
    links = [item.text.removeprefix("Image URL: ") for item in answer.content
             if item.type == "text" and item.text.startswith("Image URL: ")]
    assert links and all(link.startswith(site + "gradio_api/file=") for link in links), links
    with urllib.request.urlopen(links[0], timeout=10) as response:
        assert response.status == 200
    assert (PATH + "gradio_api/mcp/", 200) in requests_logged(log)
