"""A picture taken with the webcam, or pasted from the clipboard, in a real browser (Debian's chromium): each is the
picture the networks segment, as an upload is, on a laptop's width and a phone's.

The camera is chromium's fake one, fed a bundled CamVid frame (a Y4M file written here); the clipboard is written
by the page as a site's "Copy image" does (a PNG of the decoded picture).
"""

from __future__ import annotations

import base64
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_browser import CHROMIUM, CHROMIUM_ARGS, EXAMPLE, IMAGES_SHOWN, click_pixel, near, open_app, wait_for_reading

SHOWN = {"Segment": ["Picture | overlay (drag)", "Confidence", "Boundary uncertainty"],
         "Compare": ["FCN overlay", "SegNet overlay", "FCN confidence", "Where they disagree (magenta)"]}
BUTTON = {"Segment": "Segment", "Compare": "Compare"}
# the camera the page asks the browser for (getUserMedia's constraints), noted as it asks
ASKED_FOR = """() => {
  window.cameraAskedFor = [];
  const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => {
    window.cameraAskedFor.push(constraints);
    return ask(constraints);
  };
}"""
# what "Copy image" on another site puts on the clipboard: the picture decoded, as a PNG
COPY_IMAGE = """async (source) => {
  const picture = new Image(); picture.src = source; await picture.decode();
  const canvas = document.createElement('canvas');
  canvas.width = picture.naturalWidth; canvas.height = picture.naturalHeight;
  canvas.getContext('2d').drawImage(picture, 0, 0);
  const png = await new Promise((done) => canvas.toBlob(done, 'image/png'));
  await navigator.clipboard.write([new ClipboardItem({'image/png': png})]);
}"""

# a Ctrl-V of that picture on the page, as the browser tells the page of it
PASTE = """async (source) => {
  const png = await (await fetch(source)).blob();
  const pasted = new DataTransfer();
  pasted.items.add(new File([png], 'image.jpeg', {type: png.type}));
  document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: pasted, bubbles: true, cancelable: true}));
}"""


def write_y4m(picture: Path, path: Path) -> Path:
    """``picture`` as a one-frame Y4M video (4:2:0), which chromium's fake camera plays in a loop."""
    with Image.open(picture) as image:
        luma, blue, red = image.convert("RGB").convert("YCbCr").split()
    width, height = luma.size
    half = (width // 2, height // 2)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode() + b"FRAME\n" + luma.tobytes()
                     + blue.resize(half).tobytes() + red.resize(half).tobytes())
    return path


@pytest.fixture(scope="module")
def playwright():
    """Playwright, for every browser here: it runs one at a time in a process."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def camera_browser(playwright, tmp_path_factory):
    """Chromium whose camera films the bundled example frame, allowed without asking."""
    video = write_y4m(EXAMPLE, tmp_path_factory.mktemp("camera") / "street.y4m")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    yield browser
    browser.close()


def grey(data: bytes) -> np.ndarray:
    with Image.open(BytesIO(data)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def open_tab_with_a_result(browser, app_url: str, tab: str, width: int, height: int, **context):
    """A page on ``tab`` whose results are an example's: the picture that comes next must grey them out."""
    page = browser.new_context(viewport={"width": width, "height": height}, **context).new_page()
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-examples button.gallery-item").nth(1).click()  # not the frame the camera films
    page.wait_for_function(IMAGES_SHOWN, arg=SHOWN[tab], timeout=90_000)
    page.wait_for_function(f"() => window.segdemoResults.why('{tab.lower()}') === ''", timeout=10_000)
    return page


def picture_in(page, tab: str) -> str:
    box = page.locator(f"#{tab.lower()}-picture img[src*='gradio_api/file']")
    box.first.wait_for(timeout=20_000)
    return box.first.get_attribute("src")


def run_and_check(page, tab: str, known_frame: bool) -> None:
    """The new picture greys out the example's results; the button gives its own, every one, whose pixels a click
    reads; and the other tab, opened without a picture, takes it."""
    page.wait_for_function(f"() => window.segdemoResults.why('{tab.lower()}') === 'picture'", timeout=20_000)
    source = picture_in(page, tab)
    page.get_by_role("button", name=BUTTON[tab], exact=True).click()
    page.wait_for_function(f"() => window.segdemoResults.why('{tab.lower()}') === ''", timeout=90_000)
    page.wait_for_function(IMAGES_SHOWN, arg=SHOWN[tab], timeout=30_000)
    assert page.get_by_text("Error", exact=True).count() == 0
    if tab == "Segment":
        assert page.get_by_text("· picture 480x360").count() == 1
        assert page.locator("#segment-errors").is_visible() == known_frame  # a bundled frame's ground truth
    else:
        assert page.get_by_text("FCN errors (red: wrong, grey: void)").first.is_visible() == known_frame
    # a click on a map reads the pixel clicked, of this picture
    click_pixel(page, "#segment-band" if tab == "Segment" else "#compare-differ", 363, 186)
    assert near(wait_for_reading(page, f"#{tab.lower()}-pixel"), 363, 186)
    other = "Compare" if tab == "Segment" else "Segment"
    page.get_by_role("tab", name=other).click()
    assert picture_in(page, other).split("file=")[1] == source.split("file=")[1]


@pytest.mark.parametrize(("tab", "width", "height"), [("Segment", 1366, 768), ("Compare", 390, 844)])
def test_a_webcam_photo_is_segmented_as_the_camera_saw_it(camera_browser, app_url, tab, width, height):
    """A photo taken with the webcam is the tab's new picture, as the camera saw it: Gradio mirrored it by default,
    and the networks segmented the street flipped left to right. A phone is asked for its back camera."""
    page = open_tab_with_a_result(camera_browser, app_url, tab, width, height)
    page.evaluate(ASKED_FOR)
    box = page.locator(f"#{tab.lower()}-picture")
    box.get_by_role("button", name="Capture from camera").click()
    box.get_by_text("Click to Access Webcam").click()
    page.wait_for_function(f"() => document.querySelector('#{tab.lower()}-picture video').videoWidth > 0",
                           timeout=20_000)
    preview_mirrored = box.locator("video").evaluate("video => video.classList.contains('flip')")
    box.get_by_role("button", name="capture photo").click()
    taken = grey(page.request.get(picture_in(page, tab)).body())
    seen = grey(EXAMPLE.read_bytes())
    assert taken.shape == seen.shape
    assert correlation(taken, seen) > 0.95, f"mirrored: {correlation(taken, seen[:, ::-1]):.3f} with the mirror image"
    assert not preview_mirrored  # the preview shows what will be taken
    # on a phone, the camera that sees the street rather than the visitor
    assert page.evaluate("window.cameraAskedFor")[0]["video"]["facingMode"] == {"ideal": "environment"}
    run_and_check(page, tab, known_frame=False)
    page.context.close()


@pytest.mark.parametrize(("tab", "width", "height", "how"), [("Segment", 390, 844, "button"),
                                                            ("Compare", 1366, 768, "keys"),
                                                            ("Segment", 1366, 768, "keys")])
def test_a_pasted_copy_of_a_bundled_frame_is_segmented_and_recognised(camera_browser, app_url, tab, width, height, how):
    """A picture copied on another site is pasted with the box's "Paste from clipboard" button or with Ctrl-V on the
    page (Gradio's box took only the button: Ctrl-V did nothing); a copy of a bundled frame is recognised as it, and
    shows its error map, as an upload of it does."""
    page = open_tab_with_a_result(camera_browser, app_url, tab, width, height,
                                  permissions=["clipboard-read", "clipboard-write"])
    page.evaluate(COPY_IMAGE, "data:image/jpeg;base64," + base64.b64encode(EXAMPLE.read_bytes()).decode())
    if how == "button":
        page.locator(f"#{tab.lower()}-picture").get_by_role("button", name="Paste from clipboard").click()
    else:
        page.get_by_text("Overlay opacity").locator("visible=true").first.click()  # on the tab, off the picture box
        page.keyboard.press("Control+V")
    run_and_check(page, tab, known_frame=True)
    page.context.close()


@pytest.mark.parametrize(("source", "camera", "clipboard", "said"), [
    ("Capture from camera", "refused", None, "The browser did not allow the camera"),
    ("Capture from camera", "none", None, "No camera was found"),
    ("Paste from clipboard", None, "refused", "The browser did not allow reading the clipboard"),
    ("Paste from clipboard", None, "text", "The clipboard holds no picture"),
], ids=["camera-refused", "no-camera", "clipboard-refused", "no-picture-copied"])
def test_a_camera_or_clipboard_that_gives_no_picture_says_why(playwright, app_url, source, camera, clipboard, said):
    """The camera refused or missing, the clipboard refused or holding no picture, is said under the picture box:
    Gradio's box showed nothing (an error in the console only), and the visitor's click seemed to do nothing. The
    line goes when a picture is chosen another way."""
    args = ["--use-fake-device-for-media-stream"] if camera == "refused" else []  # a camera, which is refused
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *args])
    permissions = {"none": ["camera"], "text": ["clipboard-read", "clipboard-write"]}.get(camera or clipboard, [])
    page = browser.new_context(viewport={"width": 390, "height": 844}, permissions=permissions).new_page()
    open_app(page, app_url)
    if clipboard == "text":
        page.evaluate("() => navigator.clipboard.writeText('a street')")
    box = page.locator("#segment-picture")
    box.get_by_role("button", name=source).click()
    if camera:
        box.get_by_text("Click to Access Webcam").click()
    note = page.get_by_role("alert").filter(has_text=said)
    note.wait_for(timeout=10_000)
    assert note.evaluate("note => note.previousElementSibling.id") == "segment-picture"
    if camera:  # the visitor uploads a picture instead
        page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    else:  # or pastes it with Ctrl-V, as the line says (the paste event a key press gives: no permission needed)
        page.evaluate(PASTE, "data:image/jpeg;base64," + base64.b64encode(EXAMPLE.read_bytes()).decode())
    note.wait_for(state="detached", timeout=10_000)
    picture_in(page, "Segment")
    browser.close()
