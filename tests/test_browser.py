"""A real browser (Debian's chromium, driven by Playwright) uses the app like a visitor."""

from __future__ import annotations

import http.server
import math
import os
import re
import shutil
import threading
import time
import urllib.request
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, start_app, stop_app
from segdemo import ui, visualize
from segdemo.trustplots import PIXEL_DENSITY
from segdemo.classes import CAMVID_CLASSES, CAMVID_PALETTE, COLOUR_BLIND_SAFE_CHANGES, COLOUR_BLIND_SAFE_PALETTE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "artifacts"
EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"
COMPARE_IMAGES = (
    "FCN overlay", "SegNet overlay", "FCN confidence", "SegNet confidence", "FCN boundary uncertainty",
    "SegNet boundary uncertainty",
    "FCN errors (red: wrong, grey: void)", "SegNet errors (red: wrong, grey: void)", "Where they disagree (magenta)",
    "Ground truth (CamVid label, grey: void)",
)
# True once every named image block shows a decoded picture: the figures table can arrive before the images do.
IMAGES_SHOWN = """labels => labels.every(label => [...document.querySelectorAll('.block')].some(block => {
    const name = block.querySelector('[data-testid=block-label]');
    const img = block.querySelector('img');
    return name && name.textContent.trim() === label && img && img.complete && img.naturalWidth > 0;
}))"""
# Of the named image blocks, those not showing a decoded picture yet, each with what its first picture is doing.
PICTURES_MISSING = """labels => labels.flatMap(label => {
    const block = [...document.querySelectorAll('.block')].find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label);
    const img = block?.querySelector('img');
    if (img && img.complete && img.naturalWidth > 0) return [];
    return [{label, block: !!block, img: img ? {complete: img.complete, width: img.naturalWidth, loading: img.getAttribute('loading'),
             top: Math.round(img.getBoundingClientRect().top), src: img.src.slice(-48)} : null}];
})"""


# The maps whose block label starts with one of `labels`: how many were found, and those whose label covers part
# of the picture (and its colour bar) or runs under the picture's buttons.
LABELS_ON_MAPS = """labels => {
    const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
    const over = [];
    let found = 0;
    for (const block of document.querySelectorAll('.block')) {
        const name = block.querySelector('[data-testid=block-label]');
        const img = block.querySelector('img');
        const text = name ? name.textContent.trim() : '';
        if (!img || !img.getBoundingClientRect().width || !labels.some(label => text.startsWith(label))) continue;
        found += 1;
        const label = name.getBoundingClientRect();
        const buttons = block.querySelector('.icon-button-wrapper');
        if (overlap(label, img.getBoundingClientRect())) over.push(`${text}: on the picture`);
        if (buttons && overlap(label, buttons.getBoundingClientRect())) over.push(`${text}: under the buttons`);
        if (buttons && overlap(buttons.getBoundingClientRect(), img.getBoundingClientRect()))
            over.push(`${text}: its buttons on the picture`);
    }
    return {found, over};
}"""
# For the table headed `header`: the columns (named by how their titles start) in `whole` that its scrolling box
# cuts off, the readings in `one_line` broken over two lines ("19." above "3%"), the titles in
# `titles_one_line` broken ("SegN" above "et"), and the cells in `words_whole` broken inside a word ("Pedestrian/B"
# above "icyclist"; a zero-width space is a break the text offers, not a break inside a word).
COLUMNS_CUT = """([header, whole, one_line, titles_one_line = [], words_whole = []]) => {
    const table = [...document.querySelectorAll('table')].find(t => t.offsetParent && [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const viewport = table.closest('.virtual-table-viewport');
    const box = viewport.getBoundingClientRect();
    const heads = [...table.querySelectorAll('th')];
    const column = name => heads.findIndex(head => head.textContent.trim().startsWith(name));
    const tops = range => new Set([...range.getClientRects()].filter(rect => rect.width > 0).map(rect => Math.round(rect.top)));
    const lines = element => {   // how many lines the text inside `element` takes
        const all = new Set();
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const top of tops(range)) all.add(top);
        }
        return all.size;
    };
    const brokenWords = element => {   // the words of `element` that take more than one line
        const broken = [];
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const word of node.textContent.matchAll(/[^\\s\\u200b]+/g)) {
                const range = document.createRange();
                range.setStart(node, word.index);
                range.setEnd(node, word.index + word[0].length);
                if (tops(range).size > 1) broken.push(word[0]);
            }
        }
        return broken;
    };
    const problems = [];
    for (const name of whole) {
        const head = heads[column(name)].getBoundingClientRect();
        if (head.left < box.left - 1 || head.right > box.right + 1) problems.push(`${name}: cut off`);
    }
    for (const name of titles_one_line) if (lines(heads[column(name)]) > 1) problems.push(`${name}: its title broken`);
    for (const name of one_line) {
        for (const row of viewport.querySelectorAll('.virtual-row'))
            if (lines(row.children[column(name)]) > 1) problems.push(`${name}: "${row.children[column(name)].textContent.trim()}" broken`);
    }
    for (const name of words_whole) {
        for (const row of viewport.querySelectorAll('.virtual-row'))
            for (const word of brokenWords(row.children[column(name)])) problems.push(`${name}: "${word}" broken inside`);
    }
    return problems;
}"""
# The texts shown in the named columns of the table headed `header`, a list per column, row by row.
COLUMN_TEXTS = """([header, names]) => {
    const table = [...document.querySelectorAll('table')].find(t => t.offsetParent && [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const heads = [...table.querySelectorAll('th')];
    const rows = [...table.closest('.virtual-table-viewport').querySelectorAll('.virtual-row')];
    return names.map(name => {
        const column = heads.findIndex(head => head.textContent.trim().startsWith(name));
        return rows.map(row => row.children[column].textContent.trim());
    });
}"""
# The scrolling boxes between the table headed `header` and its block that hide part of it: [] when it shows whole.
TABLE_CLIPPED = """header => {
    const table = [...document.querySelectorAll('table')].find(t => [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const clipped = [];
    for (let box = table.parentElement; box && !box.classList.contains('block'); box = box.parentElement) {
        const style = getComputedStyle(box);
        if (style.overflowX !== 'visible' && box.scrollWidth > box.clientWidth + 2) clipped.push(`${box.className}: ${box.scrollWidth} px wide in ${box.clientWidth}`);
        if (style.overflowY !== 'visible' && box.scrollHeight > box.clientHeight + 2) clipped.push(`${box.className}: ${box.scrollHeight} px high in ${box.clientHeight}`);
    }
    return clipped;
}"""
# The bold names that start the Segment tab's map captions, in the order they are drawn from top to bottom.
CAPTIONS_SHOWN = """() => [...document.querySelectorAll('#maps-caption p')].filter(p => p.querySelector('strong'))
    .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
    .map(p => p.querySelector('strong').textContent.trim())"""
# The box of the picture in the image block labelled `label`.
PICTURE_BOX = """label => {
    const block = [...document.querySelectorAll('.block')].find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label);
    const box = block.querySelector('img').getBoundingClientRect();
    return {left: box.left, top: box.top, width: box.width, height: box.height};
}"""
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install Debian's chromium")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_app(page, url: str) -> None:
    """Load the app and wait until its UI is built and its script has run. Never "networkidle": the page keeps a
    heartbeat stream open, as Gradio does for an app with session state (here, the overlays kept for re-blending),
    to free it when the tab closes."""
    failed = []   # what went wrong on the way, for a CI log (once, under load, the page never showed its tabs)
    page.on("requestfailed", lambda request: failed.append(f"{request.url[-80:]}: {request.failure}"))
    page.on("console", lambda message: failed.append(f"console {message.type}: {message.text[:200]}")
            if message.type in ("error", "warning") else None)
    page.goto(url)
    try:
        page.get_by_role("tab", name="Models").wait_for(timeout=30_000)
        # and the page's script has run (segdemo/ui.py, page_script): Gradio runs it a moment after the tabs show
        page.wait_for_function("() => window.segdemoResults && document.getElementById('segdemo-app-width')",
                               timeout=10_000)
    except Exception as error:
        shown = page.evaluate("document.body.innerText")[:500]
        raise AssertionError(f"the app's UI was not built in 30 s at {url}; the page shows {shown!r}; "
                             f"{failed[-20:]}") from error


def test_a_visitor_uploads_a_picture_and_sees_every_output(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_text("FCN and SegNet, side by side").wait_for(timeout=30_000)
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.get_by_text("FCN-8s (lite)** ·").or_(page.get_by_text("FCN-8s (lite) ·")).first.wait_for(timeout=60_000)
    # the default model (FCN) has no Monte-Carlo samples, so no mutual-information map
    assert page.get_by_text("Monte-Carlo dropout samples").count() == 0

    # the visitor switches to the Bayesian SegNet: its mutual information appears too
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    page.get_by_role("button", name="Segment", exact=True).click()
    page.get_by_text("Monte-Carlo dropout samples").wait_for(timeout=60_000)

    # slider (picture + overlay), confidence, boundary uncertainty and mutual information appear
    for label in ("Confidence", "Boundary uncertainty", "Mutual information"):
        page.get_by_text(label).first.wait_for(timeout=10_000)
    images = page.locator("img[src*='gradio_api/file']")
    images.nth(4).wait_for(timeout=20_000)
    assert images.count() >= 5
    page.wait_for_function(IMAGES_SHOWN, arg=[*SEGMENT_IMAGES, "Mutual information"], timeout=30_000)
    for index in range(images.count()):   # and every other picture from the server (the examples' thumbnails)
        loaded = images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, f"image {index} did not load"
    # four maps in a row: no block label covers a map or its colour bar (a long label would wrap onto its top)
    maps = page.evaluate(LABELS_ON_MAPS, ["Confidence", "Errors", "Boundary uncertainty", "Mutual information"])
    assert maps == {"found": 4, "over": []}
    assert page.locator(".segdemo-legend-item").count() >= 3
    assert page.get_by_text("ms on CPU").count() + page.get_by_text("ms on GPU").count() >= 1
    # the class map of the run shown downloads as a PNG of class indices, named after its model
    link = page.locator("#segment-class-map a[data-testid=download-link]")
    assert link.get_attribute("download") == "f03570_class_map_bayesian_segnet_lite_T8_seed0.png"
    answer = page.request.get(link.get_attribute("href"))
    with Image.open(BytesIO(answer.body())) as class_map:
        assert class_map.mode == "P" and class_map.size == (480, 360) and class_map.getextrema()[1] <= 10

    # a click on a map reads that pixel: the Bayesian SegNet's mutual information too
    click_pixel(page, "#segment-band", 363, 186)
    reading = wait_for_reading(page, "#segment-pixel")
    assert near(reading, 363, 186) and "nats" in reading, reading
    rings_at(page, reading, len(SEGMENT_IMAGES) + 1)  # and the mutual information's map
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "segment.png"), full_page=True)
    page.close()


def test_the_samples_and_seed_can_be_set_only_while_the_model_samples(browser, app_url):
    """FCN makes one pass: its samples and seed change nothing, so they are greyed out while it is chosen, instead
    of inviting a visitor to ask for 32 samples and see nothing change."""
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    open_app(page, app_url)
    panel = page.get_by_role("tabpanel")
    sampling = (panel.get_by_role("slider", name="Monte-Carlo samples"), panel.get_by_label("Seed", exact=True))
    assert [control.is_disabled() for control in sampling] == [True, True]   # the default model, FCN
    for name, disabled in (("Bayesian SegNet (lite, MC dropout)", False), ("FCN-8s (lite)", True)):
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name=name).click()
        page.wait_for_function("([el, d]) => el.disabled === d", arg=[sampling[0].element_handle(), disabled])
        assert [control.is_disabled() for control in sampling] == [disabled, disabled], name
    # greyed out, they still say why, in a grey that reads (it was 1.6:1 against the page, text wants 4.5:1)
    for theme in ("light", "dark"):
        page.goto(f"{app_url}?__theme={theme}")
        page.get_by_role("tab", name="Models").wait_for(timeout=30_000)
        why = page.get_by_text(ui.SAMPLES_INFO)
        assert page.get_by_role("tabpanel").get_by_role("slider", name="Monte-Carlo samples").is_disabled()
        assert contrast_against_page(why) >= 4.5, theme
        assert contrast_against_page(page.get_by_text(ui.CLASS_CHOICE_INFO).first) >= 4.5, theme   # every such line
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_tab_shown_and_the_class_maps_download_read_in_either_theme(browser, app_url, theme):
    """In the dark, the tab shown was named in Gradio's accent, 4.3:1 against the page, and the class map's download
    link 4.0:1 against its block; text wants 4.5:1. A screen reader hears the download's file, not "3.7 KB"."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{app_url}?__theme={theme}")
    page.get_by_role("tab", name="Models").wait_for(timeout=30_000)
    assert contrast_against_page(page.locator(".tab-container button.selected")) >= 4.5
    page.locator("#segment-examples button.gallery-item").first.click()
    link = page.locator("#segment-class-map a[data-testid=download-link]")
    link.wait_for(timeout=60_000)
    assert contrast_against_page(link) >= 4.5
    named = r"/^Download f01290_class_map_fcn8s_lite\.png, \d+(\.\d)? KB$/"
    page.wait_for_function(f"link => {named}.test(link.ariaLabel)", arg=link.element_handle(), timeout=5_000)
    page.close()


# The colour a text is drawn in, its opacity with its ancestors', and the first opaque background behind it
DRAWN_COLOUR = """el => { let opacity = 1, background = null;
    for (let e = el; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        opacity *= Number(style.opacity);
        const clear = /rgba\\(.*, 0\\)$|transparent/.test(style.backgroundColor);
        if (!background && !clear) background = style.backgroundColor;
    }
    return {colour: getComputedStyle(el).color, opacity, background: background ?? 'rgb(255, 255, 255)'}; }"""


def contrast_against_page(text) -> float:
    """WCAG's contrast ratio of a text against what is behind it, its opacity blended in."""
    drawn = text.evaluate(DRAWN_COLOUR)
    colour, background = (np.array([float(v) for v in re.findall(r"[\d.]+", drawn[key])[:3]])
                          for key in ("colour", "background"))
    colour = drawn["opacity"] * colour + (1 - drawn["opacity"]) * background

    def luminance(rgb: np.ndarray) -> float:
        linear = np.where(rgb / 255 <= 0.04045, rgb / 255 / 12.92, ((rgb / 255 + 0.055) / 1.055) ** 2.4)
        return float(linear @ [0.2126, 0.7152, 0.0722])

    lighter, darker = sorted((luminance(colour), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_compare_pictures_line_up(page) -> None:
    """Every picture of the Compare tab (a bundled frame's: its ground truth too) is drawn at one scale, and each
    network's overlay lies right above its boundary uncertainty and its errors, pixel over pixel: a visitor compares
    them by looking from one to the next."""
    pictures = {label: page.evaluate(PICTURE_BOX, label) for label in COMPARE_IMAGES}
    first = pictures[COMPARE_IMAGES[0]]
    for label, box in pictures.items():
        assert abs(box["width"] - first["width"]) < 1 and abs(box["height"] - first["height"]) < 1, (
            f"{label} is drawn {box['width']:.0f}x{box['height']:.0f}, the FCN overlay {first['width']:.0f}x{first['height']:.0f}")
    for network in ("FCN", "SegNet"):
        overlay = pictures[f"{network} overlay"]
        for below in (f"{network} confidence", f"{network} boundary uncertainty", f"{network} errors (red: wrong, grey: void)"):
            assert abs(pictures[below]["left"] - overlay["left"]) < 1, f"{below} is not under the {network} overlay"


def laid_out(page, script: str, arg, timeout_s: float = 5.0):
    """What ``script`` finds wrong with a table's layout once the table has settled: Gradio sizes a table's columns
    after its first row shows, so a check made at that moment can see a column mid-resize. Polls until the script
    finds nothing, and returns its last finding (empty when the layout is right)."""
    deadline = time.monotonic() + timeout_s
    while (found := page.evaluate(script, arg)) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    return found


def test_the_compare_tab_shows_both_networks(browser, app_url):
    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("disagree on").wait_for(timeout=60_000)
    page.get_by_text("mIoU on this frame (ground truth)").wait_for(timeout=10_000)
    # both overlays, confidence maps, boundary maps and error maps (a bundled frame), the disagreement map
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=30_000)
    # the figures table shows every row and its "What it shows" column whole, without scrolling, at a desktop's width
    assert laid_out(page, TABLE_CLIPPED, "What it shows") == []
    # and no figure's name breaks inside a word in its narrow column ("Pedestrian/B" above "icyclist")
    assert laid_out(page, COLUMNS_CUT, ["What it shows", [], [], [], ["Figure"]]) == []
    # the overlays' colours have a key: every class's name beside its swatch
    legend = page.locator("#compare-legend .segdemo-legend-item")
    assert [legend.nth(i).text_content().strip() for i in range(legend.count())] == list(CAMVID_CLASSES)
    assert_compare_pictures_line_up(page)
    # both networks' class maps download, named after their models
    links = page.locator(".segdemo-class-map a[data-testid=download-link]")
    assert sorted(links.nth(i).get_attribute("download") for i in range(links.count())) == [
        "f03570_class_map_bayesian_segnet_lite_T8_seed0.png", "f03570_class_map_fcn8s_lite.png"]
    for i in range(2):
        with Image.open(BytesIO(page.request.get(links.nth(i).get_attribute("href")).body())) as class_map:
            assert class_map.mode == "P" and class_map.size == (480, 360) and class_map.getextrema()[1] <= 10
    # a click on the sign FCN takes for a person (SegNet: a sign, unsure) reads both networks at that pixel
    click_pixel(page, "#compare-confidence-fcn", 363, 186)
    reading = wait_for_reading(page, "#compare-pixel")
    assert near(reading, 363, 186) and "of the 480x360 result" in reading, reading
    assert "Pedestrian" in reading and "SignSymbol" in reading and "label: SignSymbol" in reading, reading
    # and where each network sees a Pedestrian, for the README's picture of the tab
    page.locator("#compare-class input").click()
    page.get_by_role("option", name="Pedestrian", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=["FCN: probability of Pedestrian", "SegNet: probability of Pedestrian"],
                           timeout=30_000)
    rings_at(page, reading, len(COMPARE_IMAGES) + 2)  # and the two class maps
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"), full_page=True)
    page.close()


# The alt text of the picture in each block labelled as in `labels`.
ALT_TEXTS = """labels => Object.fromEntries(labels.map(label => [label, [...document.querySelectorAll('.block')]
    .find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label)?.querySelector('img')?.alt]))"""
SEGMENT_IMAGES = ("Picture | overlay (drag)", "Confidence", "Errors (red: wrong)", "Boundary uncertainty")


@pytest.mark.parametrize("tab", ["Segment", "Compare"])
def test_a_visitor_clicks_a_bundled_example_and_sees_its_results(browser, app_url, tab):
    """Most visitors start with an example. A click loads its picture and runs the networks with the settings the
    visitor chose: on the Segment tab, the Bayesian SegNet picked beforehand stays picked and is the one run."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    # each thumbnail names its frame to a screen reader (Gradio's examples have alt="")
    examples = page.locator(f"#{tab.lower()}-examples button.gallery-item img")
    examples.first.wait_for(timeout=10_000)
    page.wait_for_function("selector => [...document.querySelectorAll(selector)].every(img => img.alt)",
                           arg=f"#{tab.lower()}-examples img", timeout=10_000)
    frames = sorted(re.fullmatch(r"camvid_0006R0_f(\d+)", path.stem)[1] for path in (ROOT / "examples").glob("*.jpg"))
    assert [img.get_attribute("alt") for img in examples.all()] == [
        f"Example: CamVid frame {int(frame)} of sequence 0006R0" for frame in frames]
    shown = list(COMPARE_IMAGES)
    if tab == "Segment":
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
        shown = [*SEGMENT_IMAGES, "Mutual information"]   # the Bayesian model's own map
    page.locator(f"#{tab.lower()}-examples button.gallery-item").first.click()
    page.mouse.wheel(0, 10_000)   # the pictures load lazily, as a visitor scrolls to them
    try:
        page.wait_for_function(IMAGES_SHOWN, arg=shown, timeout=90_000)
    except Exception:
        failed = page.get_by_text("Error", exact=True).count()
        raise AssertionError(f"{tab}: the results did not all appear ({failed} outputs show 'Error')")
    assert page.get_by_text("Error", exact=True).count() == 0, f"{tab}: an output shows 'Error'"
    # each map says what it shows to a visitor who cannot see it (a screen reader skipped every picture: alt="")
    alts = page.evaluate(ALT_TEXTS, [label for label in shown if label != "Picture | overlay (drag)"])
    assert all(len(alt) > 40 for alt in alts.values()), alts
    if tab == "Segment":  # the slider's two pictures, which Gradio's ImageSlider leaves with alt="" too
        assert [img.get_attribute("alt") for img in page.locator(".segdemo-slider img").all()] == [
            "The picture, as the networks see it", ui.PAGE_ALTS["overlay"]]
        assert page.get_by_role("combobox", name="Model").input_value() == "Bayesian SegNet (lite, MC dropout)"
        assert page.get_by_text("Bayesian SegNet (lite, MC dropout) ·").count() == 1   # the info line of its run
    page.close()


def click_map(page, selector: str, fx: float, fy: float) -> None:
    """Click the map at ``selector`` at a fraction of its drawn width and height."""
    picture = page.locator(f"{selector} img")
    box = picture.bounding_box()
    picture.click(position={"x": box["width"] * fx, "y": box["height"] * fy})


def click_pixel(page, selector: str, x: int, y: int) -> None:
    """Click pixel (x, y) of the picture at ``selector``, drawn scaled down and centred in its box (as Gradio finds
    the pixel a click is on)."""
    picture = page.locator(f"{selector} img")
    box = picture.bounding_box()
    width, height = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    ratio = min(box["width"] / width, box["height"] / height, 1)
    picture.click(position={"x": (box["width"] - width * ratio) / 2 + (x + 0.25) * ratio,
                            "y": (box["height"] - height * ratio) / 2 + (y + 0.25) * ratio})


def readout(selector: str) -> str:
    """The readout's text alone (Gradio's status tracker, transparent and 0 px high, has its own)."""
    return f"{selector} [data-testid=markdown]"


def wait_for_reading(page, selector: str, before: str = "") -> str:
    """The readout's text once it reads a pixel (and differs from ``before``)."""
    page.wait_for_function("([selector, before]) => { const text = document.querySelector(selector).innerText; "
                           "return text.includes('At pixel') && text !== before; }", arg=[readout(selector), before],
                           timeout=10_000)
    return page.locator(readout(selector)).inner_text()


def near(reading: str, x: int, y: int, within: int = 1) -> bool:
    """Whether the reading is of pixel (x, y) or one ``within`` of it (a CSS pixel spans 1.7 of a map's drawn
    smaller)."""
    read_x, read_y = map(int, re.search(r"At pixel \((\d+), (\d+)\)", reading).groups())
    return abs(read_x - x) <= within and abs(read_y - y) <= within


def test_a_click_on_a_map_reads_what_the_networks_said_at_that_pixel(browser, app_url):
    """The maps show one figure a pixel; a click shows them all there, for each network shown, from the result kept
    on the server: a click on the colour bar changes nothing, and the next result puts the hint back."""
    page = browser.new_page(viewport={"width": 1400, "height": 1700})   # the readout in sight under the maps
    open_app(page, app_url)
    shown = page.locator(readout("#segment-pixel"))
    assert "Click or tap any map" in shown.inner_text()
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES), timeout=90_000)
    click_map(page, "#segment-confidence", 0.3, 0.6)
    text = wait_for_reading(page, "#segment-pixel")
    assert "of the 480x360 result" in text and "FCN-8s (lite)" in text and "label: " in text, text
    page.wait_for_timeout(300)
    assert page.locator(".segdemo-readout-dock").is_hidden()   # the readout is in sight: no copy of it is docked
    click_map(page, "#segment-errors", 0.99, 0.5)   # the error map's key
    page.wait_for_timeout(1500)
    assert shown.inner_text() == text
    page.locator("#segment-examples button.gallery-item").nth(1).click()
    page.wait_for_function("selector => document.querySelector(selector).innerText.includes('Click or tap any map')",
                           arg=readout("#segment-pixel"), timeout=90_000)

    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=90_000)
    click_map(page, "#compare-differ", 0.4, 0.7)
    text = wait_for_reading(page, "#compare-pixel")
    assert "FCN-8s (lite)" in text and "Bayesian SegNet (lite, MC dropout)" in text and "nats" in text, text

    # one class everywhere, for both networks, drawn from the same kept result; its maps read pixels too
    page.locator("#compare-class input").click()
    page.get_by_role("option", name="Pedestrian", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=["FCN: probability of Pedestrian", "SegNet: probability of Pedestrian"],
                           timeout=30_000)
    click_pixel(page, "#compare-class-segnet", 100, 100)
    reading = wait_for_reading(page, "#compare-pixel", before=text)
    assert near(reading, 100, 100) and "Pedestrian" in reading, reading   # the class mapped, whatever its rank
    # a new result draws the chosen class again, for the new picture
    first = page.locator("#compare-class-fcn img").get_attribute("src")
    page.locator("#compare-examples button.gallery-item").nth(1).click()
    page.wait_for_function(f"() => document.querySelector('#compare-class-fcn img').src !== {first!r}", timeout=90_000)
    page.close()


# The rings segdemo/pixel_readout.js draws, shown ones alone: each one's map (its block's label), its centre, the
# element a click there reaches, and its map's picture (box, natural size, object-fit) to find the pixel it is on.
RINGS = """() => [...document.querySelectorAll('.segdemo-marker')].filter(ring => ring.getClientRects().length).map(ring => {
    const r = ring.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
    const img = ring.parentElement.querySelector('img'), box = img.getBoundingClientRect();
    return {map: ring.closest('.block').querySelector('[data-testid=block-label]').textContent.trim(), x, y,
            hit: document.elementFromPoint(x, y)?.tagName ?? 'off the screen', box: [box.left, box.top, box.width, box.height],
            natural: [img.naturalWidth, img.naturalHeight], fit: getComputedStyle(img).objectFit};
})"""


def ringed_pixel(ring: dict) -> tuple[float, float]:
    """The picture's pixel under a ring's centre (its map drawn scaled to fit as its object-fit says, centred)."""
    left, top, width, height = ring["box"]
    natural_width, natural_height = ring["natural"]
    ratio = min(width / natural_width, height / natural_height, 1 if ring["fit"] == "scale-down" else math.inf)
    return ((ring["x"] - left - (width - natural_width * ratio) / 2) / ratio - 0.5,
            (ring["y"] - top - (height - natural_height * ratio) / 2) / ratio - 0.5)


def rings_at(page, reading: str, count: int) -> list[dict]:
    """The rings, once ``count`` of them show, each at the pixel ``reading`` names (a ring moves at the next frame)."""
    read = tuple(map(int, re.search(r"At pixel \((\d+), (\d+)\)", reading).groups())) if reading else None
    deadline = time.monotonic() + 10
    while True:
        rings = page.evaluate(RINGS)
        misplaced = [ring for ring in rings if read is None or max(abs(v - r) for v, r in zip(ringed_pixel(ring), read))
                     >= 0.25]
        if len(rings) == count and not misplaced:
            return rings
        assert time.monotonic() < deadline, (read, count, rings)
        page.wait_for_timeout(100)


def test_the_pixel_read_is_ringed_on_every_map_of_its_tab(browser, app_url):
    """A click puts a ring at that pixel on every map of the tab (the overlay too), so that a visitor sees the place
    the figures are of, on FCN's maps and SegNet's side by side; clicks go through the rings; a new result takes them
    away. Drawn by the page alone, from the pixel the readout names."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES), timeout=90_000)
    assert page.evaluate(RINGS) == []
    reading = ""
    for selector, label, (x, y) in (("#segment-confidence", "Confidence", (300, 120)),
                                    ("#segment-band", "Boundary uncertainty", (60, 330))):
        click_pixel(page, selector, x, y)
        reading = wait_for_reading(page, "#segment-pixel", reading)
        assert near(reading, x, y)
        rings = rings_at(page, reading, len(SEGMENT_IMAGES))
        assert sorted(ring["map"] for ring in rings) == sorted(SEGMENT_IMAGES), rings
        # a click on a ring reaches the map under it
        assert all(ring["hit"] in ("IMG", "off the screen") for ring in rings), rings
        assert sum(ring["hit"] == "IMG" for ring in rings) >= 3, rings
        # on the map clicked, the ring is where the mouse was (click_pixel clicks a quarter pixel in)
        clicked = next(ring for ring in rings if ring["map"] == label)
        left, top, width, height = clicked["box"]
        ratio = min(width / clicked["natural"][0], height / clicked["natural"][1], 1)
        assert abs(clicked["x"] - (left + (width - clicked["natural"][0] * ratio) / 2 + (x + 0.25) * ratio)) < 1.5
        assert abs(clicked["y"] - (top + (height - clicked["natural"][1] * ratio) / 2 + (y + 0.25) * ratio)) < 1.5
    page.locator("#segment-examples button.gallery-item").nth(1).click()
    page.wait_for_function("selector => document.querySelector(selector).innerText.includes('Click or tap any map')",
                           arg=readout("#segment-pixel"), timeout=90_000)
    rings_at(page, "", 0)

    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=90_000)
    click_pixel(page, "#compare-differ", 240, 200)
    reading = wait_for_reading(page, "#compare-pixel")
    rings = rings_at(page, reading, len(COMPARE_IMAGES))
    assert sorted(ring["map"] for ring in rings) == sorted(COMPARE_IMAGES)
    page.set_viewport_size({"width": 390, "height": 900})  # a phone turned, a window narrowed: the maps reflow
    rings_at(page, reading, len(COMPARE_IMAGES))
    page.close()


def pixel_of(reading: str) -> tuple[int, int]:
    """The pixel a reading is of."""
    return tuple(map(int, re.search(r"At pixel \((\d+), (\d+)\)", reading).groups()))


def reading_at(page, selector: str, before: str) -> tuple[int, int]:
    """The pixel the readout at ``selector`` reads once it differs from ``before``."""
    return pixel_of(wait_for_reading(page, selector, before))


def settled_reading(page, selector: str) -> tuple[int, int]:
    """The pixel the readout reads once it has not changed for longer than pixel_readout.js waits before asking again
    for a pixel whose answer was lost (PATIENCE_MS, 1.2 s): keys pressed faster than it answers."""
    last, since = None, time.monotonic()
    deadline = since + 15
    while time.monotonic() < deadline:
        now = page.locator(readout(selector)).inner_text()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 1.5:
            return pixel_of(now)
        page.wait_for_timeout(100)
    raise AssertionError(f"the readout never settled: {last}")


DRAWN_RATIO = "img => img.getBoundingClientRect().width / img.naturalWidth"   # a map's CSS pixels per pixel


def reachable_within(ratio: float) -> int:
    """How far from a pixel the nearest one a click can reach may be, on a map drawn at ``ratio``."""
    return max(1, math.ceil(0.5 / min(ratio, 1)))


def tab_onto_map(page, selector: str) -> None:
    """Move the keyboard's focus onto the map at ``selector``, as Tab does from the button before it."""
    page.locator(f"{selector} button[aria-label^=Download]").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("s => document.activeElement === document.querySelector(s + ' img').closest('button')",
                         selector)


@pytest.mark.parametrize("width", [1400, 390])
def test_a_map_reads_its_pixels_from_the_keyboard(browser, app_url, width):
    """A visitor without a mouse reads pixels too: Tab onto a map, Enter reads near its middle, the arrow keys move
    8 pixels (Shift: the next pixel the map can be clicked on) and keys pressed faster than the server answers all
    count. Before, Enter read nothing (Gradio's click from the keyboard has no position) and the arrows scrolled."""
    page = browser.new_page(viewport={"width": width, "height": 1200})
    open_app(page, app_url)
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES), timeout=90_000)
    tab_onto_map(page, "#segment-confidence")
    focus = page.evaluate("""() => { const e = document.activeElement, style = getComputedStyle(e);
        return [e.matches(':focus-visible'), style.outlineStyle, parseFloat(style.outlineWidth),
                parseFloat(style.outlineOffset)]; }""")
    assert focus[0] and focus[1] == "solid" and focus[2] >= 2, focus   # a ring that shows on the map's colours
    assert focus[3] <= -focus[2], focus   # and inside the map's box, which its container clips (it showed 3 px)
    scrolled = page.evaluate("scrollY")
    page.keyboard.press("Enter")
    reading = wait_for_reading(page, "#segment-pixel")
    x, y = pixel_of(reading)
    width_drawn = page.locator("#segment-confidence img").evaluate("img => img.naturalWidth")
    assert near(reading, width_drawn // 2, 180) and x < 480, reading   # the map's middle, on the picture
    rings_at(page, reading, len(SEGMENT_IMAGES))
    # the arrows: 8 pixels a press, from where the keys put the ring; on a map drawn smaller than its picture, the
    # pixel nearest it that a click can reach (a CSS pixel spans 1/ratio of the map's pixels)
    ratio = page.locator("#segment-confidence img").evaluate(DRAWN_RATIO)
    off = reachable_within(ratio)
    text, (to_x, to_y) = reading, (x, y)
    for key, (dx, dy) in (("ArrowRight", (8, 0)), ("ArrowDown", (0, 8)), ("ArrowLeft", (-8, 0)), ("ArrowUp", (0, -8))):
        page.keyboard.press(key)
        to_x, to_y = to_x + dx, to_y + dy
        x, y = reading_at(page, "#segment-pixel", text)
        assert abs(x - to_x) <= off and abs(y - to_y) <= off, (key, to_x, to_y, x, y)
        text = page.locator(readout("#segment-pixel")).inner_text()
    page.keyboard.press("Shift+ArrowRight")
    new_x, new_y = reading_at(page, "#segment-pixel", text)
    assert new_y == y and x < new_x <= x + 3, (x, new_x)   # moved, by as little as the drawn map allows
    x = new_x
    for _ in range(5):   # the smallest steps, faster than the server answers: each counts
        page.keyboard.press("Shift+ArrowRight")
    settled = settled_reading(page, "#segment-pixel")
    assert settled[1] == y and x + 5 <= settled[0] <= x + 5 * (off + 1), (x, settled)
    x = settled[0]
    assert page.evaluate("scrollY") == scrolled   # the page did not scroll under the ring
    # keys pressed faster than the server answers: every one counts, and the picture's edge stops them
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    settled = settled_reading(page, "#segment-pixel")
    assert abs(settled[0] - (x - 40)) <= off and settled[1] == y, (x, settled)
    for _ in range(30):
        page.keyboard.press("ArrowUp")
    top = settled_reading(page, "#segment-pixel")   # the first row, or the row nearest it that a click can reach
    assert top[0] == settled[0] and top[1] <= off - 1 + (ratio < 1), (settled, top)
    rings_at(page, page.locator(readout("#segment-pixel")).inner_text(), len(SEGMENT_IMAGES))
    # a click elsewhere, then the keys go on from the pixel clicked
    text = page.locator(readout("#segment-pixel")).inner_text()
    click_pixel(page, "#segment-band", 100, 100)
    clicked = reading_at(page, "#segment-pixel", text)
    tab_onto_map(page, "#segment-band")
    text = page.locator(readout("#segment-pixel")).inner_text()
    page.keyboard.press("ArrowDown")
    moved = reading_at(page, "#segment-pixel", text)
    assert moved[0] == clicked[0] and abs(moved[1] - (clicked[1] + 8)) <= off, (clicked, moved)

    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-examples button.gallery-item").first.click()
    page.get_by_text("disagree on").wait_for(timeout=90_000)
    page.mouse.wheel(0, 10_000)   # the pictures load lazily, as a visitor scrolls to them
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=30_000)
    tab_onto_map(page, "#compare-differ")
    for _ in range(3):   # with nothing read yet, from the map's middle, faster than the server answers
        page.keyboard.press("ArrowRight")
    middle = page.locator("#compare-differ img").evaluate("img => [img.naturalWidth >> 1, img.naturalHeight >> 1]")
    off = reachable_within(page.locator("#compare-differ img").evaluate(DRAWN_RATIO))
    x, y = settled_reading(page, "#compare-pixel")
    assert abs(x - (middle[0] + 24)) <= off and abs(y - middle[1]) <= 1, (middle, x, y)
    text = page.locator(readout("#compare-pixel")).inner_text()
    assert "FCN-8s (lite)" in text and "Bayesian SegNet (lite, MC dropout)" in text, text
    # a screen reader says each reading, once: one live region (the Markdown's box), not one in another, and not the
    # block around it, whose Gradio timer was read out with the reading ("0.0s At pixel ...")
    assert page.locator("#compare-pixel").get_attribute("aria-live") is None
    assert page.locator("#compare-pixel [aria-live]").evaluate_all("found => found.map(e => e.className)") == [
        page.locator("#compare-pixel .segdemo-pixel").get_attribute("class")]
    assert page.locator("#compare-pixel .segdemo-pixel").get_attribute("aria-live") == "polite"
    page.close()


@pytest.mark.parametrize("width", [390, 1400])
def test_a_pixel_read_out_of_sight_of_its_readout_is_docked_in_the_window(browser, app_url, width):
    """The Compare tab's readout sits above its ten maps: a tap on the SegNet error map put the reading 2,200 px
    above a phone's screen, with nothing to say it had come. A copy of it is docked in the window, away from the
    map clicked, until the visitor scrolls to the readout itself (segdemo/readout_dock.js)."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Compare", exact=True).click()
    wait_for_pictures(page, list(COMPARE_IMAGES), timeout_s=60)
    dock = page.locator(".segdemo-readout-dock")
    assert dock.is_hidden()
    errors = '.block:has([data-testid=block-label]:text-is("SegNet errors (red: wrong, grey: void)"))'
    page.locator(f"{errors} img").scroll_into_view_if_needed()
    click_pixel(page, errors, 200, 180)
    reading = wait_for_reading(page, "#compare-pixel")
    assert near(reading, 200, 180)
    dock.wait_for(state="visible", timeout=5_000)
    shown = dock.locator(".segdemo-readout-dock-body").inner_text()
    assert shown.splitlines()[0] == reading.splitlines()[0]   # "At pixel (x, y) of the 480x360 result:"
    box, clicked = dock.bounding_box(), page.locator(f"{errors} img").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 800, box          # in the window
    ring = page.locator(f"{errors} .segdemo-marker").bounding_box()
    assert not (box["y"] < ring["y"] + ring["height"] and ring["y"] < box["y"] + box["height"]
                and box["x"] < ring["x"] + ring["width"] and ring["x"] < box["x"] + box["width"]), (box, ring, clicked)
    dock.locator(".segdemo-readout-dock-close").click()   # closed, it stays closed until another pixel is read
    page.wait_for_timeout(500)
    assert dock.is_hidden()
    click_pixel(page, errors, 100, 100)
    assert near(wait_for_reading(page, "#compare-pixel", reading), 100, 100)
    dock.wait_for(state="visible", timeout=5_000)
    page.locator("#compare-pixel").scroll_into_view_if_needed()   # the readout itself in sight: the copy goes
    dock.wait_for(state="hidden", timeout=5_000)
    page.close()


# Where the picture of the <img> at `selector` is drawn in its box (object-fit: contain, centred).
PICTURE_DRAWN = """selector => {
    const img = document.querySelector(selector), box = img.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    const [width, height] = [img.naturalWidth * scale, img.naturalHeight * scale];
    return {left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height};
}"""


def test_on_a_phone_the_docked_reading_shows_where_the_readout_cannot(browser, app_url):
    """A phone's visitor taps a map with the readout mostly below the screen (its first line showed): it counted as
    in view, and no reading was docked. In full screen, the dock lay behind the map (Gradio's at z-index 1000): the
    tap showed a ring and no reading. The dock leaves out the readout's note on what its rows mean, a fifth of it.
    And the dropdowns' boxes are read-only: a tap opens the list, where an editable box brought up the keyboard."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    open_app(page, app_url)
    assert page.evaluate("() => [...document.querySelectorAll('#segment-model input, #segment-class input')]"
                         ".map(input => input.readOnly)") == [True, True]
    page.locator("#segment-examples button.gallery-item").first.tap()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES[:3]), timeout=90_000)
    # the readout's first 90 px (its first line and a row and a half) at the screen's foot, the rest below it
    page.evaluate("() => window.scrollBy(0, document.querySelector('#segment-pixel').getBoundingClientRect().top"
                  " - (innerHeight - 90))")
    page.wait_for_function(SCROLL_SETTLED, timeout=10_000, polling=100)
    shown = page.evaluate("() => innerHeight - document.querySelector('#segment-pixel').getBoundingClientRect().top")
    assert abs(shown - 90) < 2, shown
    box = page.locator("#segment-errors img").bounding_box()
    assert box["y"] + 0.5 * box["height"] > 40   # the map above it on the screen
    page.touchscreen.tap(box["x"] + 0.4 * box["width"], box["y"] + 0.5 * box["height"])
    dock = page.locator(".segdemo-readout-dock")
    dock.wait_for(state="visible", timeout=5_000)
    assert "At pixel" in dock.inner_text() and "likeliest" not in dock.inner_text()
    dock.locator(".segdemo-readout-dock-close").tap()
    page.locator("#segment-confidence").scroll_into_view_if_needed()
    page.locator("#segment-confidence").get_by_role("button", name="Fullscreen").tap()
    page.wait_for_function("() => document.querySelector('#segment-confidence.fullscreen')", timeout=5_000)
    page.wait_for_timeout(800)   # Gradio's animation
    drawn = page.evaluate(PICTURE_DRAWN, "#segment-confidence img")   # the map, letterboxed in the screen
    page.touchscreen.tap(drawn["left"] + 0.3 * drawn["width"], drawn["top"] + 0.3 * drawn["height"])
    dock.wait_for(state="visible", timeout=5_000)
    shown = dock.bounding_box()
    assert page.evaluate("([x, y]) => !!document.elementFromPoint(x, y)?.closest('.segdemo-readout-dock')",
                         [shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2])   # on top
    context.close()


def test_the_keyboard_sees_where_it_is_and_skips_what_does_nothing(browser, app_url):
    """Focused from the keyboard, the Model dropdown, the class dropdown and the number boxes showed no ring (Gradio's
    had none, or a 1 px shadow); the Models tab's plots were Tab stops that did nothing, and so was a phone's open
    class list; and the divider told a screen reader it ran from 0 to 100, where Gradio stops it at 8 and 92."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_app(page, app_url)
    ring = """element => { const box = element.closest('.wrap:has(> .wrap-inner)') ?? element;
        return getComputedStyle(box).outlineStyle; }"""
    page.keyboard.press("Tab")   # from the keyboard: a ring where the browser decides one is wanted (:focus-visible)
    for control in (page.get_by_role("combobox", name="Model"), page.locator("#segment-class input"),
                    page.get_by_role("tabpanel").get_by_label("number input for Overlay opacity")):
        control.focus()
        assert control.evaluate(ring) == "solid", control
        page.keyboard.press("Escape")
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES[:2]), timeout=60_000)
    divider = page.get_by_role("slider", name="Divider between the picture (left) and its overlay (right)")
    assert (divider.get_attribute("aria-valuemin"), divider.get_attribute("aria-valuemax")) == ("8", "92")
    page.get_by_role("tab", name="Models").click()
    page.locator(".trust-plot img").first.wait_for(state="attached", timeout=10_000)
    plots = page.locator(".trust-plot button:has(img)")
    assert plots.count() == 8 and plots.evaluate_all("found => found.every(b => b.tabIndex === -1)")
    # on a phone the class list scrolls, a box Chrome let Tab stop on: the list closed under it, focus fell to the page
    page.get_by_role("tab", name="Segment").click()
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#segment-class input").focus()
    page.locator("ul.option-list").wait_for(timeout=5_000)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.tagName") == "BUTTON"   # the next control
    page.close()


def test_the_overlays_divider_moves_from_the_keyboard(browser, app_url):
    """Gradio's divider between the picture and its overlay moved by the mouse alone (role "none", no Tab stop): a
    visitor without a mouse saw the overlay on half the picture only. Tab reaches it, as a named slider that says
    where it is, and the arrow keys move it (Shift: in smaller steps); no pixel is read on the way."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_app(page, app_url)
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES[:2]), timeout=60_000)
    divider = page.get_by_role("slider", name="Divider between the picture (left) and its overlay (right)")
    clip = ("() => parseFloat(document.querySelectorAll('.segdemo-slider img')[1].style.clipPath"
            ".match(/([\\d.]+)%/)[1])")   # the share of the picture left of the divider
    assert divider.get_attribute("aria-valuenow") == "50" and page.evaluate(clip) == 50
    page.locator(".segdemo-slider a[download] button").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.getAttribute('role')") == "slider"
    for key, share in (("ArrowRight", 55), ("ArrowRight", 60), ("Shift+ArrowLeft", 59), ("ArrowLeft", 54)):
        page.keyboard.press(key)
        page.wait_for_function(f"() => Math.abs(({clip})() - {share}) < 0.6", timeout=5_000)
        assert divider.get_attribute("aria-valuenow") == str(share), key
    assert "At pixel" not in page.locator(readout("#segment-pixel")).inner_text()
    page.close()


def test_a_click_on_the_overlay_reads_its_pixel_and_a_drag_of_its_divider_does_not(browser, app_url):
    """Gradio's ImageSlider sends no select event: the page passes a click on it to a map of the same result, at the
    same pixel (within one: a map drawn smaller than the overlay cannot be clicked on every one of its pixels)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.locator("#segment-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES), timeout=90_000)
    box = page.locator(".segdemo-slider img").first.bounding_box()
    ratio = min(box["width"] / 480, box["height"] / 360)  # drawn to fit its box, centred (object-fit: contain)
    left, top = box["x"] + (box["width"] - 480 * ratio) / 2, box["y"] + (box["height"] - 360 * ratio) / 2
    page.mouse.click(left + 100.5 * ratio, top + 250.5 * ratio)
    reading = wait_for_reading(page, "#segment-pixel")
    assert near(reading, 100, 250) and "of the 480x360 result" in reading, reading
    rings_at(page, reading, len(SEGMENT_IMAGES))
    # a drag, of the divider or of the picture (which ends in a click on it), is not a click on a pixel
    for start, end in ((0.5, 0.3), (0.2, 0.4)):
        page.mouse.move(box["x"] + box["width"] * start, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * end, box["y"] + box["height"] * 0.6, steps=8)
        page.mouse.up()
    page.wait_for_timeout(1500)
    assert page.locator(readout("#segment-pixel")).inner_text() == reading
    page.close()


# True once the page has not scrolled for 300 ms.
SCROLL_SETTLED = """() => {
    const now = performance.now();
    if (window.lastScrollY !== scrollY) { window.lastScrollY = scrollY; window.stillSince = now; }
    return now - window.stillSince >= 300;
}"""


def touch_swipe(cdp, x: float, y: float, dx: float, dy: float, steps: int = 10) -> None:
    """A finger put down at (x, y), moved by (dx, dy) and lifted, as a phone's touch screen sends it."""
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": x + dx * step / steps, "y": y + dy * step / steps}]})
        time.sleep(0.02)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_on_a_phone_a_finger_on_the_overlay_reads_a_pixel_and_scrolls_the_page(browser, app_url):
    """Gradio's ImageSlider cancelled every touch on the overlay: a tap read nothing (though the page says "Click or
    tap any map (the overlay too)"), and a swipe begun on it left the page where it was. Its divider still moves
    under a finger."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    open_app(page, app_url)
    page.locator("#segment-examples button.gallery-item").first.tap()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES[:2]), timeout=90_000)
    picture = page.locator(".segdemo-slider img").first
    picture.scroll_into_view_if_needed()
    box = picture.bounding_box()
    ratio = min(box["width"] / 480, box["height"] / 360)
    left, top = box["x"] + (box["width"] - 480 * ratio) / 2, box["y"] + (box["height"] - 360 * ratio) / 2
    page.touchscreen.tap(left + 400.5 * ratio, top + 300.5 * ratio)
    reading = wait_for_reading(page, "#segment-pixel")
    assert near(reading, 400, 300), reading
    cdp = context.new_cdp_session(page)
    scrolled = page.evaluate("scrollY")
    touch_swipe(cdp, box["x"] + 0.8 * box["width"], box["y"] + 0.5 * box["height"], 0, -200)
    page.wait_for_function(f"() => scrollY > {scrolled} + 100", timeout=5_000)
    assert page.locator(readout("#segment-pixel")).inner_text() == reading   # a swipe is no tap
    page.wait_for_function(SCROLL_SETTLED, timeout=10_000, polling=100)   # a swipe's fling goes on for a moment
    picture.scroll_into_view_if_needed()
    page.wait_for_function(SCROLL_SETTLED, timeout=10_000, polling=100)
    divider = page.locator(".segdemo-slider [data-testid=slider]").bounding_box()
    share = ("() => parseFloat(document.querySelectorAll('.segdemo-slider img')[1].style.clipPath"
             ".match(/([\\d.]+)%/)[1])")   # the share of the picture left of the divider
    assert page.evaluate(share) == 50
    touch_swipe(cdp, divider["x"] + divider["width"] / 2, divider["y"] + divider["height"] / 2, -0.2 * box["width"], 0)
    page.wait_for_function(f"() => ({share})() < 40", timeout=5_000)
    context.close()


@pytest.mark.parametrize("tab", ["Segment", "Compare"])
def test_a_laptops_first_screen_shows_the_examples(browser, app_url, tab):
    """At 1366x768 (about 660 px of page under a browser's bars), the examples sat under the tab's settings and
    button, below the fold, and the page's right half was an empty box: a first visitor saw nothing to click but the
    upload. They are right under the picture box now: one click to a result."""
    page = browser.new_page(viewport={"width": 1366, "height": 660})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    example = page.locator(f"#{tab.lower()}-examples button.gallery-item").first
    example.wait_for(timeout=10_000)
    box = example.bounding_box()
    assert box["y"] + box["height"] <= 660, box
    page.close()


@pytest.mark.parametrize("address, shown", [("?tab=compare", "Compare"), ("?tab=Models", "Models"),
                                             ("?tab=nothing", "Segment"), ("", "Segment")])
def test_the_tab_named_in_the_address_is_the_one_shown(browser, app_url, address, shown):
    """A blog post about the two networks frames the comparison (an iframe's src ending ?tab=compare), a link leads
    to the Models tab: the page always opened on Segment. A name it has no tab for leaves Segment."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    open_app(page, app_url + address)
    page.wait_for_function("name => document.querySelector('[role=tab][aria-selected=true]')?.textContent.trim()"
                           " === name", arg=shown, timeout=10_000)
    selected = page.evaluate("() => [...document.querySelectorAll('[role=tab]')].map(tab => [tab.textContent.trim(),"
                             " tab.getAttribute('aria-selected'), tab.getAttribute('aria-controls')])")
    assert [name for name, chosen, _ in selected if chosen == "true"] == [shown]
    assert [panel for *_, panel in selected] == ["segment-tab", "compare-tab", "models-tab"]   # each names its panel
    if shown == "Compare":
        page.locator("#compare-examples button.gallery-item").first.wait_for(timeout=10_000)
    page.close()


def test_the_address_follows_the_tab_shown_and_a_reload_shows_it_again(browser, app_url):
    """A visitor on Compare who copies the address, or reloads, lands on Compare; the address's other settings (the
    theme) stay, and Segment's address has no ?tab. Not a step of the history: Back leaves the page, as before."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    open_app(page, app_url + "?__theme=dark")
    steps = page.evaluate("() => history.length")
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('tab') === 'compare'", timeout=5_000)
    assert page.evaluate("() => [new URLSearchParams(location.search).get('__theme'), history.length]") == [
        "dark", steps]
    page.reload()
    page.get_by_role("tab", name="Compare").wait_for(timeout=30_000)
    page.wait_for_function("() => document.getElementById('compare-tab-button')?.getAttribute('aria-selected')"
                           " === 'true'", timeout=10_000)
    page.get_by_role("tab", name="Segment").click()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('tab')", timeout=5_000)
    assert page.evaluate("() => new URLSearchParams(location.search).get('__theme')") == "dark"
    page.close()


NATURAL_SIZES = """selector => [...document.querySelectorAll(selector)].filter(img => img.naturalWidth)
    .map(img => [img.naturalWidth, img.naturalHeight])"""


def test_on_a_phone_a_large_photos_results_are_drawn_as_wide_as_the_page_shows_them(browser, app_url, tmp_path):
    """A 12-megapixel photo's results were drawn 2048 pixels wide for a phone that shows the Compare maps 540 device
    pixels wide: 10.6 MB of maps for one Compare. The page sends its width once loaded (segdemo/page_widths.py): on
    a phone 390 CSS px wide at 3 device pixels to one, Segment's are drawn 1170 wide and Compare's, two a row, 1024
    (no narrower: room to zoom in). A click still reads the pixel under it, at the size drawn."""
    photo = tmp_path / "photo.jpg"
    with Image.open(EXAMPLE) as frame:
        frame.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC).save(photo, quality=90)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3)
    page = context.new_page()
    open_app(page, app_url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(photo))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(SEGMENT_IMAGES[:2]), timeout=120_000)
    page.wait_for_function(f"() => ({NATURAL_SIZES})('.segdemo-slider img').length === 2", timeout=30_000)
    assert page.evaluate(NATURAL_SIZES, ".segdemo-slider img") == [[1170, 878]] * 2
    assert page.evaluate(NATURAL_SIZES, "#segment-confidence img")[0][1] == 878
    assert "results shown at 1170x878, as wide as this page shows them" in page.locator("body").inner_text()

    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(photo))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=180_000)
    heights = {height for _, height in page.evaluate(NATURAL_SIZES, "#compare-maps .segdemo-map img")}
    assert heights == {768}, heights   # 1024x768 pictures, each with its key beside it
    page.locator("#compare-differ").scroll_into_view_if_needed()
    click_pixel(page, "#compare-differ", 1000, 700)
    reading = wait_for_reading(page, "#compare-pixel")
    assert near(reading, 1000, 700, within=3) and "of the 1024x768 result" in reading, reading
    context.close()


# The words of the table cells under `selector` that are broken across two lines ("Paveme" / "nt").
WORDS_BROKEN = """selector => [...document.querySelectorAll(`${selector} td, ${selector} th`)].flatMap(cell => {
    const broken = [];
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        for (const word of node.textContent.matchAll(/\\S+/g)) {
            const range = document.createRange();
            range.setStart(node, word.index);
            range.setEnd(node, word.index + word[0].length);
            if (range.getClientRects().length > 1) broken.push(word[0]);
        }
    }
    return broken;
})"""


def test_on_a_phone_the_pixel_readout_fits_and_breaks_no_word(browser, app_url):
    page = browser.new_page(viewport={"width": 390, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-examples button.gallery-item").first.click()
    page.locator("#compare-confidence-fcn").scroll_into_view_if_needed()
    page.wait_for_function(IMAGES_SHOWN, arg=["FCN confidence"], timeout=90_000)
    click_map(page, "#compare-confidence-fcn", 0.3, 0.6)
    wait_for_reading(page, "#compare-pixel")
    assert page.evaluate(WORDS_BROKEN, "#compare-pixel") == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.close()


# True once the picture in the upload block `selector` is drawn, from the app's lossless copy (WebP).
DRAWN_FROM_COPY = """selector => {
    const img = document.querySelector(selector);
    return Boolean(img && img.complete && img.naturalWidth > 0 && new URL(img.src).pathname.endsWith('.webp'));
}"""


@pytest.mark.parametrize(("tab", "name"), [("Segment", "frame.tiff"), ("Segment", "street.heic"), ("Compare", "street.heic")])
def test_a_picture_only_safari_draws_is_shown_as_the_copy_the_networks_see(browser, app_url, tmp_path, heic_pictures,
                                                                           tab, name):
    """Chromium draws neither TIFF nor HEIC: without the app's copy (lossless WebP) in its place the upload shows as a
    broken image. A bundled frame uploaded as TIFF still gets its error map: the copy holds the file's exact pixels."""
    if name == "frame.tiff":
        path = tmp_path / name
        with Image.open(EXAMPLE) as frame:
            frame.save(path)
        size, shown = [480, 360], list(SEGMENT_IMAGES)
    else:
        path = heic_pictures / name
        size, shown = [240, 180], ["FCN overlay", "SegNet overlay"] if tab == "Compare" else [
            "Picture | overlay (drag)", "Confidence", "Boundary uncertainty"]
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    picture = f"#{tab.lower()}-picture"
    page.locator(f"{picture} input[type=file]").set_input_files(str(path))
    try:
        page.wait_for_function(DRAWN_FROM_COPY, arg=f"{picture} img", timeout=30_000)
    except Exception:
        src = page.locator(f"{picture} img").first.get_attribute("src")
        raise AssertionError(f"the uploaded {name} is not drawn (the picture's src: {src})")
    assert page.locator(f"{picture} img").first.evaluate("img => [img.naturalWidth, img.naturalHeight]") == size
    page.get_by_role("button", name=tab, exact=True).click()
    page.mouse.wheel(0, 10_000)
    page.wait_for_function(IMAGES_SHOWN, arg=shown, timeout=90_000)
    assert page.get_by_text("Error", exact=True).count() == 0
    page.close()


# Presses the primary button named `name` in the moment the picture block's image `selector` is the uploaded TIFF
# itself, before the app's copy (WebP) takes its place: true once pressed.
PRESS_BEFORE_THE_COPY = """([selector, name]) => {
    const img = document.querySelector(selector);
    if (!img || !/\\.tiff?$/.test(new URL(img.src, location.href).pathname)) return false;
    [...document.querySelectorAll('button.primary')].find(button => button.textContent.trim() === name).click();
    return true;
}"""


def test_a_run_sent_before_the_browser_copy_came_gives_results_of_the_picture_shown(browser, app_url, tmp_path):
    """Segment pressed on a TIFF before the app's copy took its place ran on the upload itself: the results, of the
    very picture shown, were greyed out under "These results are of the previous picture", and stayed so."""
    path = tmp_path / "large.tiff"
    with Image.open(EXAMPLE) as frame:   # a copy that takes a while: decoded and shrunk from 4000x3000
        frame.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(path, compression="jpeg")
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.evaluate(RECORD_STALE, ["segment", "Picture | overlay (drag)"])
    page.locator("#segment-picture input[type=file]").set_input_files(str(path))
    page.wait_for_function(PRESS_BEFORE_THE_COPY, arg=["#segment-picture img", "Segment"], polling=10, timeout=30_000)
    page.wait_for_function(DRAWN_FROM_COPY, arg="#segment-picture img", timeout=30_000)
    page.wait_for_function(IMAGES_SHOWN, arg=["Picture | overlay (drag)", "Confidence", "Boundary uncertainty"],
                           timeout=90_000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.staleSeen") == []   # not even for a moment
    assert not page.locator("#segment-stale-note").is_visible()
    another = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
    page.locator("#segment-picture input[type=file]").set_input_files(str(another))   # and another picture is one
    note = page.locator("#segment-stale-note")
    note.get_by_text("These results are of the previous picture").wait_for(timeout=10_000)
    page.close()


# Counts the browser copies that came (segdemo/stale_results.js: `copied`), in window.copiesCame.
COUNT_COPIES = """() => {
    const results = window.segdemoResults, copied = results.copied;
    window.copiesCame = 0;
    results.copied = (...args) => { window.copiesCame += 1; return copied.apply(results, args); };
}"""
SHOWN_PICTURE = """selector => { const img = document.querySelector(selector);
    return img && {name: new URL(img.src).pathname.split('/').pop(), width: img.naturalWidth,
                   height: img.naturalHeight}; }"""


def test_a_picture_chosen_while_a_tiffs_copy_is_made_is_not_replaced_by_it(browser, app_url, tmp_path):
    """A visitor uploaded a large TIFF and, changing their mind, clicked an example before its copy came: the copy
    then took the example's place in the picture box, beside the example's results, greyed out as of "the previous
    picture". And a second TIFF uploaded while the first was copied stayed a broken image: Gradio dropped its event.
    """
    tiff, square = tmp_path / "large.tiff", tmp_path / "square.tiff"
    with Image.open(EXAMPLE) as frame:   # copies that take a while: decoded and shrunk from 4000x3000, 3000x3000
        frame.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC).save(tiff, compression="jpeg")
        frame.convert("RGB").resize((3000, 3000), Image.Resampling.BICUBIC).save(square, compression="jpeg")
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.evaluate(COUNT_COPIES)
    page.locator("#segment-picture input[type=file]").set_input_files(str(tiff))
    page.wait_for_function("() => /\\.tiff$/.test(document.querySelector('#segment-picture img')?.src ?? '')",
                           polling=10, timeout=30_000)
    page.locator("#segment-examples button.gallery-item").nth(2).click()   # before the copy comes
    page.wait_for_function("() => window.copiesCame >= 1", timeout=30_000)
    page.wait_for_function(IMAGES_SHOWN, arg=["Picture | overlay (drag)", "Confidence"], timeout=90_000)
    page.wait_for_timeout(500)
    assert page.evaluate(SHOWN_PICTURE, "#segment-picture img")["name"] == "camvid_0006R0_f02610.jpg"
    assert not page.evaluate("() => window.segdemoResults.stale('segment')")

    # two TIFFs, the second while the first is copied: the second's copy is shown (square), never the first's
    page.locator("#segment-picture input[type=file]").set_input_files(str(tiff))
    page.wait_for_function("() => /large\\.tiff$/.test(document.querySelector('#segment-picture img')?.src ?? '')",
                           polling=10, timeout=30_000)
    page.locator("#segment-picture input[type=file]").set_input_files(str(square))
    page.wait_for_function("() => window.copiesCame >= 3", timeout=60_000)
    page.wait_for_function(DRAWN_FROM_COPY, arg="#segment-picture img", timeout=10_000)
    shown = page.evaluate(SHOWN_PICTURE, "#segment-picture img")
    assert shown["width"] == shown["height"] == 2048, shown
    page.close()


@pytest.mark.parametrize("copy_first", [True, False])
def test_a_result_and_its_pictures_browser_copy_may_come_in_either_order(browser, app_url, copy_first):
    """The order the server's answers come in, played to the page's script (segdemo/stale_results.js) as Gradio's
    events call it: a run sent with an upload, whose copy comes before or after its result, leaves the result at full
    strength throughout (else it was greyed out for a moment, and a screen reader told so); then another picture, and
    none, grey it out."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    upload, copy = {"path": "/tmp/up/frame.tiff"}, {"path": "/tmp/copy-1/picture.webp"}
    played = """([upload, copy, copyFirst]) => {
        const results = window.segdemoResults;
        const greyed = [];   // after each event (Gradio calls each in a task of its own)
        const event = (name, ...args) => { results[name]('segment', ...args); greyed.push(results.stale('segment')); };
        event('changed', upload);
        event('sent', 'upload', upload);
        event('sent', 'button', upload);
        const copied = () => { event('copied', upload, copy, upload.path); event('changed', copy); };
        if (copyFirst) copied();
        event('arrived', 'button', copyFirst ? copy : upload);
        if (!copyFirst) copied();
        return greyed;
    }"""
    assert page.evaluate(played, [upload, copy, copy_first]) == [False] * 6
    page.evaluate("picture => window.segdemoResults.changed('segment', picture)", {"path": "/tmp/up/other.png"})
    assert page.evaluate("() => window.segdemoResults.stale('segment')")
    page.evaluate("copy => window.segdemoResults.changed('segment', copy)", copy)   # the upload's copy again
    assert not page.evaluate("() => window.segdemoResults.stale('segment')")
    page.evaluate("() => window.segdemoResults.changed('segment', null)")
    assert page.evaluate("() => window.segdemoResults.stale('segment')")
    page.close()


def test_a_file_that_is_no_picture_is_explained_as_soon_as_it_is_uploaded(browser, app_url, tmp_path):
    """The visitor is told why at once, without pressing Segment, and the file leaves the picture box: left there, it
    showed as a broken image, and Segment gave the same error again, with red Error badges on the outputs."""
    text = tmp_path / "notes.png"
    text.write_text("just some text\n" * 20)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(text))
    page.locator(".toast-body").filter(has_text="This file is not an image we can read").wait_for(timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#segment-picture img')", timeout=10_000)
    page.get_by_role("button", name="Segment", exact=True).click()
    page.locator("#segment-picture .validation-error").filter(has_text="Please upload a picture first").wait_for(
        timeout=30_000)
    assert page.locator(".toast-body").filter(has_text="This file is not an image we can read").count() <= 1
    page.close()


def test_a_run_pressed_without_a_picture_is_told_so_on_the_picture_box(browser, app_url):
    """The refusal had come from the run itself: a toast, and every map of the tab marked with a bare red "Error".
    It is Gradio's validation now, on the picture box, which is brought into view from the button below it; the
    maps are left as they were, and a picture given clears it."""
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    open_app(page, app_url)
    for tab in ("Compare", "Segment"):
        page.get_by_role("tab", name=tab).click()
        run = page.get_by_role("tabpanel").get_by_role("button", name=tab, exact=True)
        run.scroll_into_view_if_needed()
        picture = f"#{tab.lower()}-picture"
        assert page.evaluate(f"() => document.querySelector('{picture}').getBoundingClientRect().bottom < 0")
        run.click()
        message = page.locator(f"{picture} .validation-error").filter(has_text="Please upload a picture first")
        message.wait_for(timeout=30_000)
        page.wait_for_function(f"() => {{ const box = document.querySelector('{picture}').getBoundingClientRect(); "
                               "return box.top >= 0 && box.top < window.innerHeight; }", timeout=5_000)
        page.wait_for_function("() => document.querySelector('.segdemo-spoken[role=status]').textContent"
                               ".includes('Please upload a picture first')", timeout=5_000)
        assert page.get_by_role("tabpanel").get_by_text("Error", exact=True).count() == 0
        assert page.locator(".toast-body").count() == 0
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.locator("#segment-picture .validation-error").wait_for(state="detached", timeout=30_000)
    page.close()


def test_a_screen_reader_is_told_gradios_messages(browser, app_url, tmp_path):
    """Gradio's toast comes with its words already in it, and a screen reader may not say a live region that comes
    filled: a refused upload said nothing to one. The page's own live region says it too."""
    text = tmp_path / "notes.png"
    text.write_text("just some text\n" * 20)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(text))
    page.locator(".toast-body").filter(has_text="This file is not an image we can read").wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('.segdemo-spoken[role=status]').textContent"
                           ".includes('This file is not an image we can read')", timeout=5_000)
    page.close()


def test_a_refused_request_says_why_until_the_visitor_closes_it(browser, app_url):
    """A seed out of range, then an example: Gradio's toast said why for 10 s, then only the outputs' bare "Error"
    badges stayed, which say nothing of the cause."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    seed = page.get_by_role("tabpanel").get_by_label("Seed", exact=True)
    seed.fill("-5")
    page.locator("#compare-examples button.gallery-item").first.click()
    why = page.locator(".toast-body").filter(has_text="Seed")
    why.wait_for(timeout=30_000)
    page.wait_for_timeout(12_000)   # past Gradio's 10 s
    assert why.is_visible()
    page.close()


# The src of each picture in the image block labelled `label` (the picture | overlay slider has two).
PICTURE_SOURCES = """label => [...[...document.querySelectorAll('.block')]
    .find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label).querySelectorAll('img')]
    .map(img => img.src)"""


def drag_to_the_end(page, slider) -> None:
    """Drag a range slider's thumb to its right end, as a visitor does with the mouse, and let go."""
    box = slider.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] + 30, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()


def keys_to_the_end(page, slider) -> None:
    """Move a range slider to its right end from the keyboard, a step at a time, as a visitor without a mouse does."""
    slider.focus()
    for _ in range(12):   # 0.55 to 1 in steps of 0.05, and past it
        page.keyboard.press("ArrowRight")


def only_class_colours(url: str, keyed: bool) -> bool:
    """Whether the picture at ``url`` holds nothing but the class colours and the white boundaries (opacity 1), left
    of its class key where it is ``keyed`` (the Compare tab's overlays)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        rgb = np.asarray(Image.open(BytesIO(response.read())).convert("RGB"))
    colours = rgb[:, : rgb.shape[1] - (visualize.colour_bar_width(rgb.shape[0]) if keyed else 0)].reshape(-1, 3)
    palette = np.array([*CAMVID_PALETTE, (255, 255, 255)])
    return bool((colours[:, None, :] == palette[None]).all(axis=2).any(axis=1).all())


@pytest.mark.parametrize("tab, move", [("Segment", drag_to_the_end), ("Compare", keys_to_the_end)], ids=["Segment-mouse", "Compare-keys"])
def test_moving_the_opacity_slider_reblends_the_overlay_without_running_the_networks(browser, app_url, tab, move):
    """The visitor moves the opacity to 1 (dragging, or with the arrow keys): the overlay turns to pure class colours
    as it moves, and nothing else changes (no network ran: the info line and the uncertainty maps stay the same)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name=tab, exact=True).click()
    overlay, others = ("Picture | overlay (drag)", ["Confidence", "Boundary uncertainty"]) if tab == "Segment" else \
        ("FCN overlay", ["SegNet overlay", "FCN boundary uncertainty", "Where they disagree (magenta)"])
    page.wait_for_function(IMAGES_SHOWN, arg=[overlay, *others], timeout=90_000)
    before = {label: page.evaluate(PICTURE_SOURCES, label) for label in [overlay, *others]}
    texts = page.locator(".prose").all_inner_texts()

    move(page, page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity"))
    deadline = time.monotonic() + 30
    while True:   # the blends arrive as the slider moves: wait for the one at opacity 1
        shown = page.evaluate(PICTURE_SOURCES, overlay)[-1]
        if shown != before[overlay][-1] and only_class_colours(shown, keyed=tab == "Compare"):
            break
        assert time.monotonic() < deadline, "the overlay never showed the class colours alone"
        time.sleep(0.2)
    if tab == "Segment":
        assert page.evaluate(PICTURE_SOURCES, overlay)[0] == before[overlay][0]   # the picture beside it stays
    else:   # both overlays follow
        page.wait_for_function(f"() => ({PICTURE_SOURCES})('SegNet overlay')[0] !== {before['SegNet overlay'][0]!r}",
                               timeout=20_000)
        others = others[1:]
    for label in others:   # the networks did not run again
        assert page.evaluate(PICTURE_SOURCES, label) == before[label], f"{label} changed"
    assert page.locator(".prose").all_inner_texts() == texts
    page.close()


def test_after_a_restart_the_slider_says_once_to_press_the_button_again(browser):
    """A Space restarts (an update, a crash, a night asleep) while a visitor's tab still shows a result: the new
    server holds nothing of it, so the slider cannot blend it. The visitor is told once to press the button, not
    left moving a slider that does nothing, nor shown a message per step of the drag; pressing it re-arms the slider.

    Gradio's page may instead start afresh: where an event of the drag finds the new server without the tab's
    session (its queue answers "session not found"), the page takes the connection for lost and reloads once the
    server answers (about 1 run in 6 here). Then it shows no result, so there is nothing to tell; no message may
    come, and the visitor's next result blends as ever."""
    process, url, _ = start_app()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        overlay = segment_the_example(page, url)
        before = page.evaluate(PICTURE_SOURCES, overlay)
        stop_app(process)
        process, again, _ = start_app({"GRADIO_SERVER_PORT": url.rstrip("/").rsplit(":", 1)[1]})
        assert again == url
        slider = page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity")
        drag_to_the_end(page, slider)
        message = "This result is no longer kept on the server: press the button again"
        # the toasts alone: the screen reader's copy of a message (segdemo/stale_results.js) is the same message
        told = page.locator("[data-testid=toast-text]", has_text=message)
        page.wait_for_function(  # told, or a page started afresh (no result shown)
            f"""() => {{ if (document.body.innerText.includes({message!r})) return true;
                try {{ return ({PICTURE_SOURCES})({overlay!r}).length === 0; }} catch (e) {{ return false; }} }}""",
            timeout=30_000)
        started_afresh = told.count() == 0
        if started_afresh:
            open_app(page, url)  # (the reload has finished)
            slider = page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity")
        keys_to_the_end(page, slider)   # more moves after the message
        page.wait_for_timeout(2_000)   # what they would say has come by now
        assert told.count() == (0 if started_afresh else 1)
        if started_afresh:
            assert page.evaluate(PICTURE_SOURCES, overlay) == []
            page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
        else:
            assert page.evaluate(PICTURE_SOURCES, overlay) == before
        page.get_by_role("button", name="Segment", exact=True).click()   # a result again: the slider blends it
        page.wait_for_function(f"() => ({PICTURE_SOURCES})({overlay!r})[1] !== {before[1]!r}", timeout=90_000)
        page.wait_for_function(IMAGES_SHOWN, arg=[overlay], timeout=90_000)
        pressed = page.evaluate(PICTURE_SOURCES, overlay)
        slider.focus()
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"() => ({PICTURE_SOURCES})({overlay!r})[1] !== {pressed[1]!r}", timeout=30_000)
        assert told.count() == (0 if started_afresh else 1)
        page.close()
    finally:
        stop_app(process)


# The visible class-map downloads' file names, and those cut short (Gradio ends a name that does not fit in "…").
FILE_NAMES = """() => {
    const names = [...document.querySelectorAll('.segdemo-class-map .filename')].filter(e => e.offsetParent);
    const cut = names.flatMap(e => [e, ...e.querySelectorAll('span')]).filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1);
    return {shown: names.map(e => e.textContent.replace(/\\s+/g, '')), cut: cut.map(e => e.textContent)};
}"""


@pytest.mark.parametrize("width", [1100, 900, 760, 600, 460, 390, 320],
                         ids=["laptop", "beside-controls", "blog-iframe", "small-tablet", "large-phone", "phone",
                              "narrowest-phone"])
def test_in_a_blog_iframe_and_on_a_phone_the_comparison_stays_whole(browser, app_url, width):
    """A blog's column or a phone is far narrower than a desktop: nothing may run off, be split or be covered, and
    every map stays large enough to see a boundary on (two to a row, they were 190 px wide at 460 px)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.get_by_text("disagree on").wait_for(timeout=60_000)
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=30_000)   # loaded without scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # the page never scrolls sideways
    maps = page.evaluate(LABELS_ON_MAPS, list(COMPARE_IMAGES))
    assert maps == {"found": len(COMPARE_IMAGES), "over": []}
    assert_compare_pictures_line_up(page)
    narrowest = min(page.evaluate(PICTURE_BOX, label)["width"] for label in COMPARE_IMAGES)
    assert narrowest >= 240, f"the Compare maps are drawn {narrowest:.0f} px wide"
    # both class maps' downloads show their whole file names
    page.locator("#compare-class-maps a[data-testid=download-link]").nth(1).wait_for(timeout=10_000)
    assert page.evaluate(FILE_NAMES) == {"shown": ["f03570_class_map_fcn8s_lite.png",
                                                   "f03570_class_map_bayesian_segnet_lite_T8_seed0.png"],
                                         "cut": []}
    # both networks' readings stay whole beside the figure's name, under their own headers
    assert laid_out(page, COLUMNS_CUT, ["What it shows", ["Figure", "FCN", "SegNet"], ["FCN", "SegNet"], ["FCN", "SegNet"],
                                        ["Figure"]]) == []
    assert page.evaluate(COLUMNS_UNDER_THEIR_HEADERS, "What it shows") == []
    # every row shows whole without scrolling the table, "What it shows" too: on a phone it scrolled sideways, cut
    # off at the table's right edge, each row 4-8 lines tall; it goes under the row's readings there
    assert page.evaluate(TABLE_CLIPPED, "What it shows") == []
    assert page.evaluate(CELLS_OUTSIDE, "What it shows") == []
    # and its header and rows reach its right edge (Gradio's "What it shows" at 50% left them 659 px in 790)
    table, header, rows = page.evaluate(TABLE_SPAN, "What it shows")
    assert header >= table - 1 and min(rows) >= table - 1, (table, header, rows)
    page.close()


@pytest.mark.parametrize("tab", ["Segment", "Compare"])
def test_on_a_phone_every_map_loads_before_the_visitor_scrolls_to_it(browser, app_url, tab):
    """Gradio draws its pictures loading="lazy": on a 390 px phone none of the Compare tab's ten maps had loaded
    3 s after the result came, each block stood empty, a label's height, and the page grew under the visitor's
    finger as they scrolled the maps in. Every map now loads as it arrives, and scrolling moves nothing."""
    page = browser.new_page(viewport={"width": 390, "height": 800})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    area = f"#{tab.lower()}-picture"
    page.locator(f"{area} input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name=tab, exact=True).click()
    page.evaluate("scrollTo(0, 0)")   # back to the top, far above the maps to come
    labels = list(COMPARE_IMAGES) if tab == "Compare" else SEGMENT_IMAGES
    wait_for_pictures(page, labels, timeout_s=30)
    assert page.evaluate("scrollY") == 0
    height = page.evaluate("document.documentElement.scrollHeight")
    for _ in range(30):   # the visitor scrolls down to the last map
        page.mouse.wheel(0, 400)
        time.sleep(0.05)
    page.wait_for_function("() => scrollY > 0")
    time.sleep(1)
    assert page.evaluate("document.documentElement.scrollHeight") == height
    page.close()


# For the table headed `header`: the width of its scrolling box, of its header and of each of its rows.
# The first three columns of the table headed `header` whose cells do not start and end under their header.
COLUMNS_UNDER_THEIR_HEADERS = """header => {
    const table = [...document.querySelectorAll('table')]
        .find(t => t.offsetParent && [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const heads = [...table.querySelectorAll('thead th')].slice(0, 3).map(th => th.getBoundingClientRect());
    const off = [];
    for (const row of table.closest('.virtual-table-viewport').querySelectorAll('.virtual-row'))
        heads.forEach((head, k) => { const cell = row.children[k].getBoundingClientRect();
            if (Math.abs(cell.left - head.left) > 1 || Math.abs(cell.right - head.right) > 1)
                off.push(`row ${row.dataset.index} column ${k}: ${cell.left}-${cell.right} under `
                         + `${head.left}-${head.right}`); });
    return off;
}"""
# The cells of the column headed `header` that are not whole inside the table's box.
CELLS_OUTSIDE = """header => {
    const table = [...document.querySelectorAll('table')]
        .find(t => t.offsetParent && [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const viewport = table.closest('.virtual-table-viewport');
    const box = viewport.getBoundingClientRect();
    const column = [...table.querySelectorAll('th')].findIndex(th => th.textContent.trim().startsWith(header));
    return [...viewport.querySelectorAll('.virtual-row')].map(row => row.children[column].getBoundingClientRect())
        .filter(cell => cell.left < box.left - 1 || cell.right > box.right + 1)
        .map(cell => [cell.left, cell.right, box.right]);
}"""
TABLE_SPAN = """header => {
    const table = [...document.querySelectorAll('table')].find(t => t.offsetParent && [...t.querySelectorAll('th')].some(th => th.textContent.includes(header)));
    const viewport = table.closest('.virtual-table-viewport');
    return [viewport.clientWidth, table.getBoundingClientRect().width,
            [...viewport.querySelectorAll('.virtual-row')].map(row => row.getBoundingClientRect().width)];
}"""


BLOG_POST = """<!doctype html><html><head><meta charset="utf-8"><title>A post about FCN and SegNet</title>{head}</head>
<body style="max-width: 760px; margin: 0 auto"><h1>FCN against SegNet</h1><p>Try it:</p>{embed}</body></html>"""
# The README's two snippets, the web component's script served by the app itself (the README's comes from Gradio's
# CDN, which this machine cannot reach: the same file, Gradio's own gradio.js, whose one line imports this bundle).
EMBEDS = {
    "iframe": ("", '<iframe src="{app_url}" title="FCN and SegNet, side by side" width="100%" height="1100" '
                   'style="border:0" allow="camera; clipboard-read; clipboard-write; fullscreen"></iframe>'),
    "web-component": ('<script type="module" src="{app_url}{bundle}"></script>', '<gradio-app src="{app_url}"></gradio-app>'),
}
# The README's snippets that open the app on its Compare tab: the iframe's address names it, the web component's
# element (the blog's own address, ?tab included, is the blog's)
EMBEDS_ON_COMPARE = {
    "iframe-on-compare": ("", '<iframe src="{app_url}/?tab=compare" title="FCN and SegNet, side by side" '
                              'width="100%" height="1100" style="border:0" '
                              'allow="camera; clipboard-read; clipboard-write; fullscreen"></iframe>'),
    "web-component-on-compare": ('<script type="module" src="{app_url}{bundle}"></script>',
                                 '<gradio-app src="{app_url}" data-tab="compare"></gradio-app>'),
}


def test_the_snippets_tested_are_the_readmes():
    """The blog post embeds the app with the README's own snippets (the Space's address in place of the app's)."""
    import gradio

    readme = (ROOT / "README.md").read_text().replace("\n        ", " ")   # a snippet's lines as one
    script = f"https://gradio.s3-us-west-2.amazonaws.com/{gradio.__version__}/gradio.js"
    space = "https://OWNER-SPACE-NAME.hf.space"
    for snippet in (snippet for pair in [*EMBEDS.values(), *EMBEDS_ON_COMPARE.values()] for snippet in pair
                    if snippet):
        as_in_readme = snippet.replace("{app_url}{bundle}", script).replace("{app_url}", space)
        assert as_in_readme in readme, as_in_readme


@pytest.fixture(params=list(EMBEDS))
def blog_post(request, app_url):
    """A blog post that embeds the app with one of the README's snippets, served by a site of its own: a real
    server on the loopback, opened as ``localhost``, another site than the app's 127.0.0.1 (chromium refuses to
    frame a loopback address in a page that it takes for a public site's, as a page it is handed by Playwright)."""
    import gradio

    bundle = (Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js").read_text().split('"./')[1]
    head, embed = {**EMBEDS, **EMBEDS_ON_COMPARE}[request.param]
    values = {"app_url": app_url if request.param == "iframe" else app_url.rstrip("/"),
              "bundle": "/" + bundle.split('"')[0]}
    body = BLOG_POST.format(head=head.format(**values), embed=embed.format(**values)).encode()

    class Post(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Post)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield request.param, f"http://localhost:{server.server_port}/fcn-vs-segnet.html?tab=models"
    server.shutdown()
    server.server_close()


# The Segment tab's maps shown: each block's label and its box, in the page's order of rows and columns.
SEGMENT_MAP_BOXES = """() => [...document.querySelectorAll('#segment-maps > .block')].filter(b => b.offsetParent)
    .map(b => { const r = b.getBoundingClientRect();
                return [b.querySelector('[data-testid=block-label]').textContent.trim(), Math.round(r.x),
                        Math.round(r.y), Math.round(r.width)]; })
    .sort((a, b) => a[2] - b[2] || a[1] - b[1])"""


@pytest.mark.parametrize("blog_post", ["web-component"], indirect=True)
def test_as_a_web_component_in_a_blog_column_the_app_is_laid_out_for_the_column(browser, app_url, blog_post):
    """The web component lives in the blog's page, whose window is wider than its column: the app was laid out for
    the window (found by helper-19). In a 760 px column on a 1400 px screen the Models tab's plots came side by side,
    shrunk past reading, the Segment tab's maps three and one to a row, and a pixel's reading docked at the window's
    right, over the blog's margin. They follow the app's width now, as in a 760 px window."""
    _, url = blog_post
    page = browser.new_page(viewport={"width": 1400, "height": 480})   # a short window: a reading docks
    page.goto(url)
    page.wait_for_function("() => document.getElementById('segdemo-app-width')", timeout=30_000)   # the script ran
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("Per-class IoU on CamVid").wait_for(timeout=30_000)
    shown = page.evaluate("() => [...document.querySelectorAll('.trust-plot')].filter(b => b.offsetParent)"
                          ".map(b => b.classList.contains('trust-plot-stacked'))")
    assert shown == [True, True], shown   # the stacked plots, as on a phone
    column = page.evaluate("() => { const r = document.querySelector('.gradio-container').getBoundingClientRect(); "
                           "return [r.left, r.right]; }")
    assert column[1] - column[0] <= 760
    page.get_by_role("tab", name="Segment").click()
    page.locator("#segment-examples button.gallery-item").first.click()
    wait_for_pictures(page, SEGMENT_IMAGES, timeout_s=90)
    boxes = page.evaluate(SEGMENT_MAP_BOXES)
    assert [label for label, *_ in boxes] == ["Errors (red: wrong)", "Boundary uncertainty", "Confidence"], boxes
    assert boxes[0][2] == boxes[1][2] < boxes[2][2] and boxes[0][3] == boxes[1][3] == boxes[2][3], boxes   # 2 a row
    page.evaluate("() => window.scrollBy(0, document.querySelector('#segment-errors').getBoundingClientRect().top"
                  " - 20)")   # the first row of maps at the top of the window, the readout two rows below, unseen
    click_map(page, "#segment-errors", 0.5, 0.5)
    dock = page.locator(".segdemo-readout-dock")
    dock.wait_for(state="visible", timeout=10_000)
    box = dock.bounding_box()
    assert column[0] <= box["x"] and box["x"] + box["width"] <= column[1], (box, column)   # under the app
    page.close()


@pytest.mark.parametrize("blog_post", list(EMBEDS_ON_COMPARE), indirect=True)
def test_a_blog_post_can_open_the_app_on_its_compare_tab(browser, app_url, blog_post):
    """The README's snippets that open the app on the comparison: an iframe whose src ends ?tab=compare, a web
    component with data-tab="compare". The blog's own address says ?tab=models, which the app leaves to the blog:
    it neither opens Models nor changes the blog's address."""
    kind, url = blog_post
    page = browser.new_page(viewport={"width": 1000, "height": 1200})
    page.goto(url)
    if kind.startswith("iframe"):
        page.frame_locator("iframe").get_by_role("tab", name="Models").wait_for(timeout=30_000)
        app = next(frame for frame in page.frames if frame.url.startswith(app_url))
    else:
        app = page
        app.get_by_role("tab", name="Models").wait_for(timeout=30_000)
    app.wait_for_function("() => document.getElementById('compare-tab-button')?.getAttribute('aria-selected')"
                          " === 'true'", timeout=15_000)
    app.locator("#compare-examples button.gallery-item").first.wait_for(timeout=10_000)
    assert page.url == url   # the blog's address, as it was
    page.close()


def wait_for_pictures(frame, labels, timeout_s: float) -> None:
    """Wait, without scrolling, for the named pictures to be decoded; on a timeout, say what each missing one is
    doing. Gradio draws them ``loading="lazy"``: in a frame from another site Chromium started a lazy picture only
    once it was inside the page's viewport, so a map the frame had scrolled past stayed blank until the visitor
    scrolled back to it (segdemo/eager_pictures.js loads each as it arrives)."""
    deadline = time.monotonic() + timeout_s
    while missing := frame.evaluate(PICTURES_MISSING, list(labels)):
        assert time.monotonic() < deadline, f"never shown: {missing}"
        time.sleep(0.25)


def test_embedded_in_another_sites_blog_post_the_space_runs_and_reblends(browser, app_url, blog_post):
    """The README's snippets in another site's page (a browser frames a page unless its headers forbid it, and
    keeps a cross-site frame's storage apart; the web component calls the app across origins): an example runs,
    and the opacity slider blends the result again from the session's state, as on the Space's own page."""
    kind, url = blog_post
    page = browser.new_page(viewport={"width": 1000, "height": 1200})
    page.goto(url)
    if kind == "iframe":
        page.frame_locator("iframe").get_by_role("tab", name="Models").wait_for(timeout=30_000)
        app = next(frame for frame in page.frames if frame.url.startswith(app_url))
        # the camera and the clipboard for the picture box, full screen for a map: a frame forbids them by default
        assert app.evaluate("() => ['camera', 'clipboard-read', 'clipboard-write', 'fullscreen']"
                            ".filter(feature => !document.featurePolicy.allowsFeature(feature))") == []
    else:
        app = page
        app.get_by_role("tab", name="Models").wait_for(timeout=30_000)
    app.locator("#segment-examples button.gallery-item").first.click()
    overlay = "Picture | overlay (drag)"
    app.get_by_text("Boundary uncertainty is the entropy").wait_for(timeout=90_000)
    wait_for_pictures(app, SEGMENT_IMAGES, timeout_s=30)   # every map, the visitor scrolling to none of them
    assert app.get_by_text("Error", exact=True).count() == 0
    before = app.evaluate(PICTURE_SOURCES, overlay)
    keys_to_the_end(page, app.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity"))
    deadline = time.monotonic() + 30
    while not only_class_colours(shown := app.evaluate(PICTURE_SOURCES, overlay)[-1], keyed=False) \
            or shown == before[-1]:
        assert time.monotonic() < deadline, f"{kind}: the overlay was not blended again at opacity 1"
        time.sleep(0.2)
    page.close()


# Where each visible map of the Segment tab lies: {label: [left, top, width, height]} of its picture.
SEGMENT_MAPS = """() => Object.fromEntries([...document.querySelectorAll('#segment-maps > .block')].filter(b => b.offsetParent).map(b => {
    const picture = b.querySelector('img').getBoundingClientRect();
    return [b.querySelector('[data-testid=block-label]').textContent.trim(), [picture.left, picture.top + scrollY, picture.width, picture.height]];
}))"""


@pytest.mark.parametrize("width, model, per_row", [(760, None, 2), (1024, "Bayesian SegNet (lite, MC dropout)", 2),
                                                   (1400, "Bayesian SegNet (lite, MC dropout)", 4)])
def test_the_segment_maps_are_large_alike_and_errors_sit_beside_uncertainty(browser, app_url, width, model, per_row):
    """In a blog's column or on a tablet the maps go two to a row rather than shrink to slivers (or leave a fourth
    alone, larger than the rest); at every width they are drawn at one size, and the error map keeps its neighbour."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    if model:
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name=model).click()
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.locator("#maps-caption").get_by_text("Errors").wait_for(timeout=60_000)
    page.mouse.wheel(0, 10_000)
    expected = ["Confidence", "Errors (red: wrong)", "Boundary uncertainty"] + (["Mutual information"] if model else [])
    page.wait_for_function(IMAGES_SHOWN, arg=expected, timeout=30_000)
    maps = page.evaluate(SEGMENT_MAPS)
    assert set(maps) == set(expected)
    first = maps["Confidence"]   # one picture, one geometry: its maps' pixels line up when compared
    for label, (left, top, drawn_width, drawn_height) in maps.items():
        assert drawn_width >= 260, f"{label} is drawn {drawn_width:.0f} px wide"
        assert abs(drawn_width - first[2]) < 2 and abs(drawn_height - first[3]) < 2, f"{label} is drawn at another size"
    rows = sorted({round(top) for _, top, _, _ in maps.values()})
    assert len(rows) == -(-len(maps) // per_row), f"{len(maps)} maps in {len(rows)} rows"
    errors, band = maps["Errors (red: wrong)"], maps["Boundary uncertainty"]
    assert abs(errors[1] - band[1]) < 2                                    # one row
    assert 0 < band[0] - (errors[0] + errors[2]) < 40                      # neighbours, errors on the left
    assert page.evaluate(LABELS_ON_MAPS, list(maps)) == {"found": len(maps), "over": []}
    # the captions under the maps explain them in the order a visitor reads the maps: row by row, left to right
    reading = [label.split(" (")[0] for label, _ in sorted(maps.items(), key=lambda item: (round(item[1][1]), item[1][0]))]
    assert page.evaluate(CAPTIONS_SHOWN) == reading
    page.close()


def compared(browser, app_url: str, picture: Path, crop: tuple[int, int, int, int], size: tuple[int, int],
             window: tuple[int, int]):
    """A page of ``window``'s size whose Compare tab shows the results for ``picture``: a part (``crop``) of the
    bundled frame, resized to ``size``."""
    with Image.open(EXAMPLE) as frame:
        frame.crop(crop).resize(size).save(picture, quality=90)
    page = browser.new_page(viewport={"width": window[0], "height": window[1]})
    open_app(page, app_url)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(picture))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES[:6]), timeout=60_000)
    page.wait_for_function(TRACKERS_HIDDEN, timeout=10_000)
    return page


# Every shown map's status (Gradio's "processing | 2.0s" over the map) gone. The pictures can show a moment before it
# goes: under CI's load a check of what lay on each map's corner found the status there, on all seven maps.
TRACKERS_HIDDEN = """() => [...document.querySelectorAll('.segdemo-map')].filter(block => block.offsetParent)
    .every(block => [...block.querySelectorAll('.wrap')].every(wrap => wrap.classList.contains('hide')))"""


# Each shown map's label, its picture's box and its natural size.
MAP_BOXES = """() => [...document.querySelectorAll('.segdemo-map')].filter(block => block.offsetParent).map(block => {
    const img = block.querySelector('img'), box = img?.getBoundingClientRect();
    return img && {label: block.querySelector('[data-testid=block-label]').textContent.trim(), width: box.width,
                   height: box.height, natural: [img.naturalWidth, img.naturalHeight]};
}).filter(Boolean)"""


def test_a_tall_pictures_maps_each_fit_in_the_window_and_read_the_pixel_clicked(browser, app_url, tmp_path):
    """A 600x1600 picture's maps were as wide as their blocks, 1,116 px high in a 900 px window: no row of them (FCN's
    beside SegNet's) could be seen whole. Each is scaled down whole to 80% of the window's height, the box it is drawn
    in its own shape (so the pixel a click reads is the one under it), all at one scale."""
    page = compared(browser, app_url, tmp_path / "tall.jpg", (165, 0, 300, 360), (600, 1600), (1400, 900))
    maps = page.evaluate(MAP_BOXES)
    assert len(maps) >= 7, maps
    for shown in maps:
        natural_width, natural_height = shown["natural"]
        assert natural_height == 1600 and shown["height"] <= 0.8 * 900 + 0.5, shown
        assert abs(shown["width"] / shown["height"] - natural_width / natural_height) < 0.01, shown
    assert len({(round(shown["width"]), round(shown["height"])) for shown in maps}) == 1, maps   # one scale
    click_pixel(page, "#compare-confidence-fcn", 240, 1300)
    reading = wait_for_reading(page, "#compare-pixel")
    assert near(reading, 240, 1300, within=2), reading   # drawn at 0.45, a CSS pixel spans 2.2 of its pixels
    rings_at(page, reading, 7)   # on every map shown, the overlays' too
    page.close()


@pytest.mark.parametrize(("tab", "size", "width"), [("Segment", (24, 18), 1400), ("Compare", (100, 75), 390)])
def test_a_small_pictures_maps_are_drawn_enlarged_and_read_the_pixel_under_the_pointer(browser, app_url, tmp_path, tab,
                                                                                      size, width):
    """A 24x18 picture's maps were drawn 90x18 px in 435 px blocks (their keys unreadable, the ring as large as the
    map), a 100x75 picture's 166x75 in a phone's 326 px. They are drawn enlarged, at one scale (a whole multiple of
    their size where 2x fits, else as wide as their blocks), and a click reads the pixel under the pointer, where
    Gradio, which takes no picture to be drawn larger than itself, read another; the ring is drawn there."""
    picture = tmp_path / "small.png"
    with Image.open(EXAMPLE) as frame:
        frame.resize(size, Image.Resampling.LANCZOS).save(picture)
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-picture input[type=file]").set_input_files(str(picture))
    page.get_by_role("button", name=tab, exact=True).click()
    shown = ["Confidence", "Boundary uncertainty"] if tab == "Segment" else list(COMPARE_IMAGES[:6])
    page.wait_for_function(IMAGES_SHOWN, arg=shown, timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('.segdemo-map img')].filter(img => img.offsetParent)"
                           ".every(img => img.classList.contains('segdemo-enlarged'))", timeout=5_000)
    maps = page.evaluate(MAP_BOXES)
    scales = {round(shown["width"] / shown["natural"][0], 3) for shown in maps}
    assert len(scales) == 1 and min(scales) >= 1.25, maps   # one scale, all enlarged
    if tab == "Segment":
        assert float(min(scales)).is_integer(), scales   # 7x: each pixel a square of whole CSS pixels
    selector = "#segment-band" if tab == "Segment" else "#compare-confidence-fcn"
    picture_box = page.locator(f"{selector} img")
    picture_box.scroll_into_view_if_needed()
    box = picture_box.bounding_box()
    scale = box["width"] / picture_box.evaluate("img => img.naturalWidth")
    page.mouse.click(box["x"] + 5.5 * scale, box["y"] + 7.5 * scale)
    reading = wait_for_reading(page, f"#{tab.lower()}-pixel")
    assert reading.startswith(f"At pixel (5, 7) of the {size[0]}x{size[1]} result"), reading
    rings_at(page, reading, len(maps) + (1 if tab == "Segment" else 0))   # the overlay's too
    page.close()


# For each map shown, scrolled to: what its buttons cover of its picture or its label, and whether a tap at the
# picture's top right corner lands on it.
BUTTONS_OFF_MAPS = """() => [...document.querySelectorAll('.segdemo-map')]
    .filter(b => b.offsetParent && b.querySelector('img')).map(block => {
        block.scrollIntoView({block: 'center'});   // a point off the screen is on no element
        const box = e => e.getBoundingClientRect();
        const overlap = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1
            && b.top < a.bottom - 1;
        const img = box(block.querySelector('img')), buttons = box(block.querySelector('.icon-button-wrapper'));
        const label = box(block.querySelector('[data-testid=block-label]'));
        const corner = document.elementFromPoint(img.right - 3, img.top + 3);
        return {map: block.querySelector('[data-testid=block-label]').textContent.trim(),
                onPicture: overlap(buttons, img), onLabel: overlap(buttons, label),
                inBlock: buttons.top >= box(block).top - 1,
                corner: corner?.tagName === 'IMG' && block.contains(corner),
                atCorner: corner ? `${corner.tagName}.${corner.className}` : null};
    })"""


@pytest.mark.parametrize("width", [320, 390, 1400])
def test_a_maps_buttons_sit_beside_its_label_and_leave_the_picture_to_read(browser, app_url, tmp_path, width):
    """A map's buttons (full screen, download) lay over its picture's top right corner: the top of its key, and on a
    phone the right eighth of a wide picture's map (1600x300: a map 326x58), whose pixels a tap could not read.
    They sit right of the map's label, clear of it."""
    page = compared(browser, app_url, tmp_path / "wide.jpg", (0, 120, 480, 210), (1600, 300), (width, 800))
    maps = page.evaluate(BUTTONS_OFF_MAPS)
    assert len(maps) == 7, maps
    wrong = [shown for shown in maps if shown["onPicture"] or shown["onLabel"] or not shown["inBlock"]
             or not shown["corner"]]
    assert wrong == [], wrong
    page.close()


# The block `selector` in full screen: its box, and its picture's, in the window.
FULL_SCREEN_BOXES = """selector => {
    const block = document.querySelector(selector);
    const box = element => { const r = element.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
    return {full: block.classList.contains('fullscreen'), block: box(block), img: box(block.querySelector('img'))};
}"""


@pytest.mark.parametrize(("tab", "selector"), [("Segment", "#segment-confidence"), ("Compare", "#compare-differ")])
def test_a_map_in_full_screen_fills_the_window_where_maps_go_two_to_a_row(browser, app_url, tab, selector):
    """From 640 to 1279 px (a blog's 680 px iframe, a tablet) the rule that puts two maps to a row held a map in full
    screen to half the window: the map stayed its size at the left, the page beside it."""
    page = browser.new_page(viewport={"width": 760, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=SEGMENT_IMAGES if tab == "Segment" else ["Where they disagree (magenta)"],
                           timeout=90_000)
    page.locator(selector).get_by_role("button", name="Fullscreen").click()
    page.wait_for_function(f"() => ({FULL_SCREEN_BOXES})({selector!r}).block[2] === 760", timeout=5_000)
    boxes = page.evaluate(FULL_SCREEN_BOXES, selector)
    assert boxes["full"] and boxes["block"] == [0, 0, 760, 900], boxes
    assert boxes["img"][2] >= 700, boxes   # the map, its key included, about as wide as the window
    page.close()


@pytest.mark.parametrize("width", [320, 390])
def test_on_a_phone_no_picture_has_its_label_on_it_or_under_its_buttons(browser, app_url, width):
    """Gradio floats a picture's label over its top-left corner: at 320 px "Picture | overlay (drag)" ran under the
    slider's buttons, cut to "Picture | overlay (dra". And its buttons on the picture's top right: the overlay's
    covered 71x23 px of it."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    labels = [*SEGMENT_IMAGES, "Mutual information"]
    wait_for_pictures(page, labels, timeout_s=60)
    assert page.evaluate(LABELS_ON_MAPS, labels) == {"found": len(labels), "over": []}
    page.close()


@pytest.mark.parametrize("width", [320, 345, 360])
def test_on_the_narrowest_phones_every_tab_shows_in_the_tab_bar(browser, app_url, width):
    """At 320 px Gradio put Compare and Models into a "..." menu: a visitor might never find the comparison."""
    page = browser.new_page(viewport={"width": width, "height": 700})
    page.goto(app_url)
    page.get_by_text("FCN and SegNet, side by side").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Segment").wait_for(timeout=30_000)
    assert [tab.inner_text() for tab in page.get_by_role("tab").all() if tab.is_visible()] == ["Segment", "Compare", "Models"]
    assert not page.locator(".overflow-menu").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # and the page never scrolls sideways
    page.get_by_role("tab", name="Compare").click()
    page.get_by_role("button", name="Compare", exact=True).wait_for()
    page.close()


@pytest.mark.parametrize("width", [760, 1000, 1400, 2560])
def test_the_app_uses_the_width_of_the_window_or_frame_it_is_given(browser, app_url, width):
    """Gradio's container grows in steps (640, 768, 1024, 1280 px...), which left a blog's 760 px iframe 576 px of
    app and a laptop's 1000 px window 704: every map a third smaller than the space allowed. Up to 1920 px the app
    now fills the width but for its margins; beyond, it stays 1920 px wide, as Gradio has it."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    open_app(page, app_url)
    used = page.evaluate("document.querySelector('.tabs').getBoundingClientRect().width")
    assert min(width, 1920) - 80 <= used <= min(width, 1920), f"{used:.0f} px of app in a {width} px window"
    page.close()


@pytest.mark.parametrize("width", [320, 1400])
def test_the_upload_area_says_what_to_drop_and_which_files_are_read(browser, app_url, width):
    """Gradio's own "Drop Image Here" named no format: HEIC, what iPhones save, is read, and a visitor could not know.
    The whole text shows, on the narrowest phone too, in both tabs, with the size limit whole on one line; it says a
    copied picture may be pasted, which only the clipboard's icon had said."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    for tab, area in (("Segment", "#segment-picture"), ("Compare", "#compare-picture")):
        page.get_by_role("tab", name=tab).click()
        heading = page.locator(area).get_by_text("Drop a street picture here")
        heading.wait_for(timeout=10_000)
        formats = page.locator(area).get_by_text("PNG, JPEG, WebP, HEIC, AVIF, BMP, GIF or TIFF, up to 50\u00a0MB")
        assert formats.is_visible() and "50\u00a0MB" in formats.inner_text()
        assert page.locator(area).get_by_text("Click to upload, or paste one").is_visible()  # Ctrl-V's picture too
        box, upload = formats.bounding_box(), page.locator(area).bounding_box()
        assert upload["x"] <= box["x"] and box["x"] + box["width"] <= upload["x"] + upload["width"] + 1
    page.close()


@pytest.mark.parametrize("width", [390, 360, 320])
def test_on_a_phone_every_column_of_the_class_tables_shows(browser, app_url, width):
    """Every column shows, and no class's name breaks inside a word ("SignSymbo" above "l" at 360 px; "Pixels" was
    cut to "Pixel" at 320 px)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.get_by_text("Mean confidence %").wait_for(timeout=60_000)
    page.locator(".virtual-row").first.wait_for(timeout=10_000)
    columns = ["Class", "Pixels %", "Mean confidence %"]
    assert laid_out(page, COLUMNS_CUT, ["Mean confidence %", columns, columns, [], ["Class"]]) == []
    # every number with its decimals, so that a column lines up ("98.0" above "93.7", never "98")
    shares, confidences = page.evaluate(COLUMN_TEXTS, ["Mean confidence %", ["Pixels %", "Mean confidence %"]])
    assert shares and all(re.fullmatch(r"\d+\.\d\d|<0\.01", text) for text in shares), shares
    assert all(re.fullmatch(r"\d+\.\d|—", text) for text in confidences), confidences
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("mean IoU").wait_for(timeout=10_000)
    models = ["Class", "Bayesian SegNet", "FCN-8s"]   # the per-class IoU table: one column per shipped model
    assert laid_out(page, COLUMNS_CUT, ["FCN-8s", models, models, [], ["Class"]]) == []
    for texts in page.evaluate(COLUMN_TEXTS, ["FCN-8s", models[1:]]):
        assert len(texts) == 12 and all(re.fullmatch(r"\d+\.\d|—", text) for text in texts), texts
    page.close()


@pytest.mark.parametrize("width, theme", [(1400, "light"), (390, "dark")])
def test_the_models_tab_downloads_only_the_two_plots_it_shows(browser, app_url, width, theme):
    """Each plot is drawn four times (light and dark, wide and stacked) and the page hides three: they stay lazy,
    unloaded, where the result maps load at once (segdemo/eager_pictures.js; all eight cost 732 kB, the two 181-186)."""
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=theme)
    open_app(page, app_url)
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("Per-class IoU on CamVid").wait_for(timeout=10_000)
    # the visitor scrolls down to each plot shown (lazy, one starts to load once near the view)
    page.wait_for_function("""() => {
        const shown = [...document.querySelectorAll('.trust-plot img')].filter(i => i.offsetParent);
        shown.find(i => !(i.complete && i.naturalWidth > 0))?.scrollIntoView();
        return shown.length === 2 && shown.every(i => i.complete && i.naturalWidth > 0);
    }""", timeout=20_000, polling=250)
    time.sleep(2)
    fetched = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                            ".filter(name => /(reliability|uncertainty_errors)[^/]*[.]png$/.test(name))")
    suffix = ("" if width >= 1000 else "-stacked") + ("-dark" if theme == "dark" else "")
    assert sorted(name.rsplit("/", 1)[1] for name in fetched) == [f"reliability{suffix}.png",
                                                                  f"uncertainty_errors{suffix}.png"]
    page.close()


@pytest.mark.parametrize("width", [390, 1400])
def test_the_models_tab_keeps_its_length_as_its_plots_load(browser, app_url, width):
    """The plots load lazily, as a visitor scrolls to them: each one's box has the plot's shape before it loads, so
    nothing below moves under the visitor's finger (on a phone the page grew by 1,838 px as they came in)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("Per-class IoU on CamVid").wait_for(timeout=10_000)
    boxes = """() => [...document.querySelectorAll('.trust-plot')].filter(b => b.offsetParent).map(b => {
        const img = b.querySelector('img'), box = img.getBoundingClientRect();
        return {block: Math.round(b.getBoundingClientRect().height), width: box.width, height: box.height,
                loaded: img.complete && img.naturalWidth > 0, ratio: img.naturalHeight / img.naturalWidth}; })"""
    before = page.evaluate(boxes)
    length = page.evaluate("document.documentElement.scrollHeight")
    assert len(before) == 2 and all(plot["block"] > 200 for plot in before), before
    page.wait_for_function("""() => {
        const shown = [...document.querySelectorAll('.trust-plot img')].filter(i => i.offsetParent);
        shown.find(i => !(i.complete && i.naturalWidth > 0))?.scrollIntoView();
        return shown.length === 2 && shown.every(i => i.complete && i.naturalWidth > 0);
    }""", timeout=20_000, polling=250)
    after = page.evaluate(boxes)
    assert [plot["block"] for plot in after] == [plot["block"] for plot in before], (before, after)
    assert page.evaluate("document.documentElement.scrollHeight") == length
    for plot in after:   # and the plot fills its box: drawn at its own shape, not letterboxed in it
        assert plot["height"] == pytest.approx(plot["width"] * plot["ratio"], abs=2), plot
        assert plot["height"] >= plot["block"] - 4, plot
    page.close()


def test_the_models_tab_lists_the_shipped_models(browser, app_url):
    page = browser.new_page()
    open_app(page, app_url)
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("parameters").first.wait_for(timeout=10_000)
    page.get_by_text("Per-class IoU on CamVid").wait_for(timeout=10_000)
    # the plots shown say what they show to a visitor who cannot see them
    alts = page.evaluate("() => [...document.querySelectorAll('.trust-plot img')].filter(i => i.offsetParent).map(i => i.alt)")
    assert len(alts) == 2 and alts[0].startswith("Reliability diagrams") and alts[1].startswith("Accuracy of the most")
    page.close()


@pytest.mark.parametrize(("width", "theme"), [(1400, "light"), (1024, "light"), (760, "light"), (390, "light"),
                                              (360, "light"), (320, "light"), (1400, "dark"), (390, "dark")],
                         ids=["desktop", "laptop", "blog-iframe", "phone", "android", "narrowest-phone", "desktop-dark",
                              "phone-dark"])
def test_the_models_tab_plots_are_large_enough_to_read_and_nothing_covers_their_titles(browser, app_url, width, theme):
    """Each plot is drawn twice, panels side by side and stacked: the one shown is never shrunk much below its own
    size, where its legends' text (7.5 pt) would be too small to read. Side by side on a phone, it was shrunk to 0.3.
    And each of those for a light and a dark page: a browser set to dark (Gradio then goes dark) gets the figures
    drawn on dark grey, not white boxes in a dark page. And sharp on a 2x screen (most phones, a laptop's Retina
    screen): drawn one pixel to a CSS px, every text and line was blurred there."""
    page = browser.new_page(viewport={"width": width, "height": 1000}, color_scheme=theme, device_scale_factor=2)
    open_app(page, app_url)
    page.get_by_role("tab", name="Models").click()
    page.mouse.wheel(0, 10_000)   # the pictures load lazily, as a visitor scrolls to them
    plots = page.get_by_role("tabpanel").locator(".trust-plot img")   # the Models tab's only pictures: the plots
    plots.nth(3).wait_for(state="attached", timeout=10_000)
    for index in range(2):   # on a phone they load as they are scrolled to
        page.locator(".trust-plot img:visible").nth(index).scroll_into_view_if_needed(timeout=20_000)
    # two plots drawn (the other two hidden by CSS), both loaded
    page.wait_for_function("() => { const shown = [...document.querySelectorAll('.trust-plot img')]"
                           ".filter(i => i.getBoundingClientRect().width);"
                           " return shown.length === 2 && shown.every(i => i.complete && i.naturalWidth); }",
                           timeout=20_000)
    shown = page.evaluate("""(density) => [...document.querySelectorAll('.trust-plot img')]
        .filter(i => i.getBoundingClientRect().width).map(i => {
            const corner = document.createElement('canvas').getContext('2d');   // the figure's own ground, top left
            corner.drawImage(i, 2, 2, 1, 1, 0, 0, 1, 1);
            return {version: i.closest('.trust-plot').classList.contains('trust-plot-wide') ? 'wide' : 'stacked',
                    scale: i.getBoundingClientRect().width / (i.naturalWidth / density),   // of the figure's page size
                    sharpness: i.naturalWidth / i.getBoundingClientRect().width,   // its pixels to a CSS px
                    ground: [...corner.getImageData(0, 0, 1, 1).data.slice(0, 3)]}; })""", PIXEL_DENSITY)
    assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
    assert [plot["version"] for plot in shown] == ["wide" if width >= 1000 else "stacked"] * 2
    for index, plot in enumerate(shown):   # white on a light page, Gradio's dark block grey (#1f2937) on a dark one
        assert plot["ground"] == ([255, 255, 255] if theme == "light" else [31, 41, 55]), f"plot {index}: {plot['ground']}"
    for index, plot in enumerate(shown):
        assert plot["scale"] >= 0.6, f"plot {index} ({plot['version']}) is drawn at {plot['scale']:.2f} of its size"
        assert plot["sharpness"] >= 1.99, f"plot {index} ({plot['version']}): {plot['sharpness']:.2f} pixels to a CSS px"
        # Gradio's block label sits on the top-left of the picture, where the figure's title is
        block = page.locator(".trust-plot img:visible").nth(index).locator("xpath=ancestor::div[contains(@class, 'block')][1]")
        assert not block.locator("[data-testid=block-label]").is_visible(), f"plot {index} has its block label over it"
    # and its buttons (fullscreen, download) on the top-right corner sit on the figure's ground, not on its title
    # ("(0006R0," of the kept-pixels plot's title was under them at 320 px)
    under = page.evaluate(UNDER_THE_BUTTONS)
    assert len(under) == 2 and all(plot["inked"] == 0 for plot in under), under
    page.close()


# For each plot shown: how many of the figure's pixels under its block's buttons differ from the figure's ground.
UNDER_THE_BUTTONS = """() => [...document.querySelectorAll('.trust-plot img')].filter(i => i.getBoundingClientRect().width).map(img => {
    const box = img.getBoundingClientRect();
    const buttons = img.closest('.block').querySelector('.icon-button-wrapper').getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);   // object-fit: contain
    const left = box.left + (box.width - img.naturalWidth * scale) / 2, top = box.top + (box.height - img.naturalHeight * scale) / 2;
    const x0 = Math.max(0, Math.floor((buttons.left - left) / scale)), y0 = Math.max(0, Math.floor((buttons.top - top) / scale));
    const x1 = Math.min(img.naturalWidth, Math.ceil((buttons.right - left) / scale));
    const y1 = Math.min(img.naturalHeight, Math.ceil((buttons.bottom - top) / scale));
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const ground = context.getImageData(2, 2, 1, 1).data;
    if (x1 <= x0 || y1 <= y0) return {region: [x0, y0, x1, y1], inked: 0};
    const pixels = context.getImageData(x0, y0, x1 - x0, y1 - y0).data;
    let inked = 0;
    for (let k = 0; k < pixels.length; k += 4)
        if ([0, 1, 2].some(c => Math.abs(pixels[k + c] - ground[c]) > 40)) inked += 1;
    return {src: img.src.slice(-40), region: [x0, y0, x1, y1], inked};
})"""


# The left and right ends of the Model dropdown's text as drawn, its box, and where its arrow begins.
MODEL_TEXT = """() => {
    const input = document.querySelector('#segment-model input[role=combobox]');
    const style = getComputedStyle(input);
    const context = document.createElement('canvas').getContext('2d');
    context.font = style.font;
    const box = input.getBoundingClientRect();
    const start = box.left + parseFloat(style.paddingLeft);
    return {value: input.value, start, end: start + context.measureText(input.value).width,
            whole: input.scrollWidth <= input.clientWidth, box_right: box.right,
            arrow: document.querySelector('#segment-model .dropdown-arrow').getBoundingClientRect().left};
}"""


@pytest.mark.parametrize("width", [320, 360, 390, 768, 1000, 1400])
def test_the_model_dropdown_shows_the_whole_label_clear_of_its_arrow(browser, app_url, width):
    """"Bayesian SegNet (lite, MC dropout)" was cut off at 360 px (and at 320 px still), and ran under the ▾ at 360
    and 768 px."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url)
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    page.mouse.click(1, 1)   # the list closes
    page.wait_for_function("() => document.querySelector('#segment-model input').value.startsWith('Bayesian')")
    drawn = page.evaluate(MODEL_TEXT)
    assert drawn["whole"], drawn
    assert drawn["end"] <= drawn["arrow"] - 2, drawn
    page.close()


@pytest.mark.parametrize("label", ["Overlay opacity", "Monte-Carlo samples"])
def test_a_range_slider_reached_from_the_keyboard_shows_its_focus(browser, app_url, label):
    """Tabbing onto a slider showed nothing (outline none, box-shadow none): a keyboard user could not see where
    the arrow keys would act."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    panel = page.get_by_role("tabpanel")
    if label == "Monte-Carlo samples":   # enabled for the Bayesian SegNet alone
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    slider = panel.get_by_role("slider", name=label)
    page.wait_for_function("el => !el.disabled", arg=slider.element_handle())
    slider_block(page, label).get_by_role("button", name="Reset to default value").focus()
    page.keyboard.press("Tab")   # from its reset button, the next stop is the slider
    focused = slider.evaluate("""el => ({focused: el.matches(':focus-visible'), outline: getComputedStyle(el).outlineStyle,
        width: parseFloat(getComputedStyle(el).outlineWidth), shadow: getComputedStyle(el).boxShadow})""")
    assert focused["focused"], focused
    assert (focused["outline"] != "none" and focused["width"] >= 2) or focused["shadow"] != "none", focused
    page.close()


def slider_block(page, label: str):
    """The block of the slider ``label`` on the tab shown: its number box and its reset button."""
    return page.get_by_role("tabpanel").locator(".block").filter(has=page.get_by_role("slider", name=label)).last


def picture_pixels(url: str) -> np.ndarray:
    with urllib.request.urlopen(url, timeout=10) as response:
        return np.asarray(Image.open(BytesIO(response.read())).convert("RGB")).astype(np.int16)


def segment_the_example(page, url: str) -> str:
    """Open the app, segment the bundled example on the Segment tab and wait for its overlay; the overlay's label."""
    open_app(page, url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    overlay = "Picture | overlay (drag)"
    page.wait_for_function(IMAGES_SHOWN, arg=[overlay], timeout=90_000)
    return overlay


def test_the_reset_button_of_the_opacity_slider_blends_the_overlay_again(browser, app_url):
    """Its ↺ put the number back to 0.55 but left the overlay at the opacity it had been moved to: Gradio's reset
    sends "change" (and "release"), never "input"."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    overlay = segment_the_example(page, app_url)
    first = page.evaluate(PICTURE_SOURCES, overlay)[-1]
    slider = page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity")
    keys_to_the_end(page, slider)
    deadline = time.monotonic() + 30
    while not only_class_colours(moved := page.evaluate(PICTURE_SOURCES, overlay)[-1], keyed=False):
        assert time.monotonic() < deadline, "the overlay never reached opacity 1"
        time.sleep(0.2)
    slider_block(page, "Overlay opacity").get_by_role("button", name="Reset to default value").click()
    assert slider.input_value() == "0.55"
    deadline = time.monotonic() + 30
    while (shown := page.evaluate(PICTURE_SOURCES, overlay)[-1]) == moved:
        assert time.monotonic() < deadline, "the overlay stayed at opacity 1 after the reset"
        time.sleep(0.2)
    assert np.array_equal(picture_pixels(shown), picture_pixels(first))   # blended at 0.55 again, as the run was
    page.close()


# The tab shown's legend: each class's name and its swatch's colour as the page draws it ("rgb(128, 64, 128)").
LEGEND_SWATCHES = """() => [...document.querySelectorAll('[role=tabpanel]')].filter(panel => panel.offsetParent)
    .flatMap(panel => [...panel.querySelectorAll('.segdemo-legend-item')])
    .map(item => [item.textContent.trim().split(/\\s/)[0],
                  item.querySelector('.segdemo-swatch').style.backgroundColor])"""


def css_rgb(colour) -> str:
    return "rgb({}, {}, {})".format(*colour)


def only_moved_classes_recoloured(before: np.ndarray, after: np.ndarray) -> tuple[int, int]:
    """Of two overlays of one result at opacity 0.55, before and after the colour-blind-safe colours are ticked: the
    pixels that changed, and of them those that did not change as a moved class's pixel does (its new colour less
    its old one, times 0.55, within the rounding)."""
    delta = after.astype(np.int16) - before.astype(np.int16)
    changed = (delta != 0).any(axis=2)
    explained = np.zeros_like(changed)
    for name, colour in COLOUR_BLIND_SAFE_CHANGES.items():
        step = 0.55 * (np.array(colour) - np.array(CAMVID_PALETTE[CAMVID_CLASSES.index(name)]))
        explained |= (np.abs(delta - step) <= 1.01).all(axis=2)
    return int(changed.sum()), int((changed & ~explained).sum())


# From now on, each picture the map ``label`` shows last (the overlay of "Picture | overlay") in
# window.segdemoTestSources, however briefly it showed.
RECORD_SOURCES = """label => {
    const block = [...document.querySelectorAll('.block')]
        .find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label);
    const sources = window.segdemoTestSources = [];
    const note = () => {
        const src = [...block.querySelectorAll('img')].at(-1)?.src;
        if (src && src !== sources.at(-1) && src !== window.segdemoTestFirst) sources.push(src);
    };
    window.segdemoTestFirst = [...block.querySelectorAll('img')].at(-1)?.src;
    new MutationObserver(note).observe(block, {subtree: true, childList: true, attributes: true,
                                               attributeFilter: ['src']});
}"""


def wait_for_new_source(page, label: str, old: str, what: str, index: int = -1) -> str:
    deadline = time.monotonic() + 30
    while (shown := page.evaluate(PICTURE_SOURCES, label)[index]) == old:
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return shown


@pytest.mark.parametrize("tab", ["Segment", "Compare"])
def test_the_colour_blind_safe_colours_recolour_the_overlays_keys_legend_and_ground_truth_without_a_run(
        browser, app_url, tab):
    """A visitor ticks "Colour-blind-safe colours" after a run: the overlay (both on the Compare tab, with their
    keys, and the ground truth) changes on the moved classes' pixels alone, the legend's swatches follow, and no
    network runs (the other maps and the text stay). The other tab's box follows the tick. On the Segment tab, a
    new run is drawn in the colours ticked from the start, though the API's run draws CamVid's."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name=tab, exact=True).click()
    truth = "Ground truth (CamVid label, grey: void)"
    recoloured, others = (["Picture | overlay (drag)"], ["Confidence", "Boundary uncertainty"]) if tab == "Segment" \
        else (["FCN overlay", "SegNet overlay", truth], ["FCN confidence", "SegNet boundary uncertainty"])
    page.wait_for_function(IMAGES_SHOWN, arg=[*recoloured, *others], timeout=90_000)
    page.locator(".segdemo-legend-item").first.wait_for(timeout=10_000)
    before = {label: page.evaluate(PICTURE_SOURCES, label) for label in [*recoloured, *others]}
    legend = page.evaluate(LEGEND_SWATCHES)
    assert legend and all(colour == css_rgb(CAMVID_PALETTE[CAMVID_CLASSES.index(name)]) for name, colour in legend)
    texts = page.locator(".prose").all_inner_texts()

    box = page.get_by_role("tabpanel").get_by_label("Colour-blind-safe colours")
    box.check()
    after = {label: wait_for_new_source(page, label, before[label][-1], f"{label} stayed in CamVid's colours")
             for label in recoloured}
    overlay = recoloured[0]
    old, new = picture_pixels(before[overlay][-1]), picture_pixels(after[overlay])
    width = old.shape[1] - (visualize.colour_bar_width(old.shape[0]) if tab == "Compare" else 0)
    changed, unexplained = only_moved_classes_recoloured(old[:, :width], new[:, :width])
    assert changed > 500 and unexplained == 0, (changed, unexplained)
    if tab == "Compare":   # the keys' swatches, and the ground truth's flat colours
        assert (old[:, width:] != new[:, width:]).any()
        flat = picture_pixels(after[truth])[:, :width].reshape(-1, 3)
        assert {tuple(c) for c in np.unique(flat, axis=0)} <= {*COLOUR_BLIND_SAFE_PALETTE, visualize.VOID_GREY}
    deadline = time.monotonic() + 10
    while (legend := page.evaluate(LEGEND_SWATCHES)) and legend[0][1] and any(
            colour != css_rgb(COLOUR_BLIND_SAFE_PALETTE[CAMVID_CLASSES.index(name)]) for name, colour in legend):
        assert time.monotonic() < deadline, f"the legend kept CamVid's colours: {legend}"
        time.sleep(0.2)
    assert {name for name, _ in legend} & set(COLOUR_BLIND_SAFE_CHANGES), legend   # a moved class is shown
    for label in others:   # no network ran
        assert page.evaluate(PICTURE_SOURCES, label) == before[label], f"{label} changed"
    assert page.locator(".prose").all_inner_texts() == texts

    if tab == "Segment":
        ticked = after[overlay]
        page.evaluate(RECORD_SOURCES, overlay)
        page.get_by_role("button", name="Segment", exact=True).click()   # a new run, with the box ticked
        deadline = time.monotonic() + 90
        while True:
            shown = page.evaluate(PICTURE_SOURCES, overlay)[-1]
            if shown != ticked and np.array_equal(picture_pixels(shown), new):
                break
            assert time.monotonic() < deadline, "the new run's overlay did not end in the colours ticked"
            time.sleep(0.3)
        # and it showed no other on the way: it had come in CamVid's colours, then the blend that follows the run
        # drew it again in the colours ticked
        sources = page.evaluate("() => window.segdemoTestSources")
        assert sources and all(np.array_equal(picture_pixels(source), new) for source in sources), len(sources)
        page.get_by_role("tab", name="Compare").click()
        assert page.get_by_role("tabpanel").get_by_label("Colour-blind-safe colours").is_checked()
        page.wait_for_function(f"() => ({LEGEND_SWATCHES})().some(([name, colour]) => name === 'Pedestrian' && "
                               f"colour === {css_rgb(COLOUR_BLIND_SAFE_CHANGES['Pedestrian'])!r})", timeout=10_000)
    page.close()


def closest_example(url: str) -> str:
    """The bundled frame a result picture (the picture itself, or an overlay of it at its left) was drawn from."""
    shown = picture_pixels(url)
    distances = {}
    for path in sorted((ROOT / "examples").glob("*.jpg")):
        with Image.open(path) as frame:
            frame = np.asarray(frame.convert("RGB")).astype(np.int16)
        h, w = min(frame.shape[0], shown.shape[0]), min(frame.shape[1], shown.shape[1])
        distances[path.stem] = float(np.abs(shown[:h, :w] - frame[:h, :w]).mean())
    return min(distances, key=distances.get)


def set_slider(page, label: str, value: int) -> None:
    """Type a value into the number box of the slider ``label`` of the tab shown, as a visitor can."""
    slider = page.get_by_role("tabpanel").get_by_role("slider", name=label)
    box = slider_block(page, label).get_by_label(f"number input for {label}")
    box.fill(str(value))
    box.press("Tab")
    page.wait_for_function("([el, v]) => el.value === v", arg=[slider.element_handle(), str(value)])


def wait_until_shown(page, label: str, example: str, what: str) -> None:
    """Wait for the picture of the block ``label`` to come from ``example``: the run asked for last."""
    deadline = time.monotonic() + 90
    while True:
        sources = page.evaluate(PICTURE_SOURCES, label) if page.evaluate(IMAGES_SHOWN, [label]) else []
        if sources and closest_example(sources[0]) == example:
            return
        assert time.monotonic() < deadline, f"{what}: the page still shows another picture's results"
        time.sleep(0.5)


# Each time the tab's results are greyed out or shown again (segdemo/stale_results.js): whether greyed, and the
# picture the block labelled `label` shows then.
RECORD_STALE = """([tab, label]) => {
    window.staleSeen = [];
    const tabs = document.querySelector('.tabs');
    const source = () => [...document.querySelectorAll('.block')]
        .find(b => b.querySelector('[data-testid=block-label]')?.textContent.trim() === label)
        ?.querySelector('img')?.src;
    let stale = tabs.classList.contains(`segdemo-stale-${tab}`);
    new MutationObserver(() => {
        const now = tabs.classList.contains(`segdemo-stale-${tab}`);
        if (now !== stale) window.staleSeen.push([now, source()]);
        stale = now;
    }).observe(tabs, {attributes: true, attributeFilter: ['class']});
}"""


@pytest.mark.parametrize("tab", ["Segment", "Compare"])
def test_an_example_clicked_while_another_runs_is_the_one_whose_results_the_page_ends_on(browser, app_url, tab):
    """Gradio dropped a run asked for while one was going ("once"): a visitor clicked example 1, then example 4, and
    the page showed example 4's picture with example 1's results, for good. And example 1's results, which come
    first, are greyed out under a line that says they are of another picture, until example 4's come."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.get_by_role("tab", name=tab).click()
    if tab == "Segment":
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    set_slider(page, "Monte-Carlo samples", 32)   # a run long enough to click again while it goes
    examples = page.locator(f"#{tab.lower()}-examples button.gallery-item")
    frames = sorted(path.stem for path in (ROOT / "examples").glob("*.jpg"))
    label = "Picture | overlay (drag)" if tab == "Segment" else "FCN overlay"
    page.evaluate(RECORD_STALE, [tab.lower(), label])
    examples.nth(0).click()
    page.wait_for_function("selector => document.querySelector(selector)", arg=f"#{tab.lower()}-picture img")
    page.wait_for_timeout(300)
    examples.nth(3).click()
    wait_until_shown(page, label, frames[3], tab)
    if tab == "Compare":
        wait_until_shown(page, "SegNet overlay", frames[3], tab)
    page.wait_for_function("() => window.staleSeen.length >= 2 && !window.staleSeen.at(-1)[0]", timeout=10_000)
    seen = [(stale, closest_example(source)) for stale, source in page.evaluate("window.staleSeen")]
    assert seen == [(True, frames[0]), (False, frames[3])], seen
    page.close()


def test_results_of_another_picture_are_greyed_out_until_the_picture_shown_is_run(browser, app_url):
    """A second picture uploaded, or the picture removed, left the first picture's results at full strength beside
    it, with nothing to say they were not of it. They are greyed out under a line that says so (a screen reader
    hears it), the pixel readout and its docked copy too, and come back with the next run; the other tab's results
    are left as they are."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    open_app(page, app_url)
    note, new, gone = "#segment-stale-note", "These results are of the previous picture", "of a picture no longer shown"
    faded = "selector => Number(getComputedStyle(document.querySelector(selector)).opacity)"
    spoken = "() => document.querySelector('.segdemo-spoken[role=status]').textContent"
    upload = page.locator("#segment-picture input[type=file]")
    upload.set_input_files(str(EXAMPLE))
    assert not page.locator(note).is_visible()   # no results yet: nothing to grey out
    page.get_by_role("button", name="Segment", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=SEGMENT_IMAGES, timeout=60_000)
    assert not page.locator(note).is_visible() and page.evaluate(faded, "#segment-confidence") == 1
    click_pixel(page, "#segment-confidence", 200, 150)
    first_reading = wait_for_reading(page, "#segment-pixel")
    upload.set_input_files(str(ROOT / "examples" / "camvid_0006R0_f01290.jpg"))
    page.locator(note).get_by_text(new).wait_for(timeout=10_000)
    assert page.locator(note).inner_text().strip() == f"{new}: press Segment for this one's."
    assert page.evaluate(spoken) == f"{new}: press Segment for this one's."
    for greyed in ("#segment-confidence", "#segment-pixel", ".segdemo-slider", "#maps-caption"):
        page.wait_for_function(f"selector => ({faded})(selector) < 0.6", arg=greyed, timeout=5_000)   # in 0.2 s
    # a pixel read on a phone, its readout out of sight, is docked greyed out too
    page.set_viewport_size({"width": 390, "height": 800})
    page.locator("#segment-band").scroll_into_view_if_needed()
    click_pixel(page, "#segment-band", 100, 100)
    wait_for_reading(page, "#segment-pixel", before=first_reading)
    page.wait_for_function("() => { const dock = document.querySelector('.segdemo-readout-dock'); "
                           "return !dock.hidden && dock.classList.contains('segdemo-readout-dock-stale'); }",
                           timeout=5_000)
    page.set_viewport_size({"width": 1400, "height": 1200})
    # the Compare tab, whose results are of no other picture, is not greyed out
    page.get_by_role("tab", name="Compare").click()
    assert not page.locator("#compare-stale-note").is_visible()
    page.get_by_role("tab", name="Segment").click()   # and this tab's, drawn again, still are
    page.locator(note).get_by_text(new).wait_for(timeout=10_000)
    page.get_by_role("button", name="Segment", exact=True).click()
    page.locator(note).wait_for(state="hidden", timeout=60_000)
    page.wait_for_function(f"() => ({faded})('#segment-confidence') === 1 && ({faded})('#segment-pixel') === 1",
                           timeout=5_000)
    # a screen reader is told the run is done (its results are paragraphs and pictures, which say nothing)
    page.wait_for_function(f"() => ({spoken})() === 'The segmentation is done: its results are below.'",
                           timeout=5_000)
    assert closest_example(page.evaluate(PICTURE_SOURCES, "Picture | overlay (drag)")[0]) == "camvid_0006R0_f01290"
    page.locator("#segment-picture").get_by_role("button", name="Remove Image").click()
    page.locator(note).get_by_text(gone).wait_for(timeout=10_000)
    assert not page.locator(note).get_by_text(new).is_visible()
    page.close()


def test_results_of_other_settings_are_greyed_out_until_the_settings_chosen_are_run(browser, app_url):
    """Another model, samples count or seed chosen left the first settings' maps at full strength under the new
    settings, the FCN's maps beside "Bayesian SegNet" in the model box. They are greyed out under a line that says
    so, until the settings chosen are run or chosen back; settings that give the same maps (the seed of a single
    pass, the samples of a model without dropout) leave them as they are."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    open_app(page, app_url)
    note = page.locator("#segment-stale-note")
    other = "These results are of other settings than those chosen now: press Segment for these."
    why = "tab => window.segdemoResults.why(tab)"
    spoken = "() => document.querySelector('.segdemo-spoken[role=status]').textContent"

    def choose_model(name: str) -> None:
        page.get_by_role("combobox", name="Model").click()
        page.get_by_role("option", name=name).click()

    def seed(value: int) -> None:
        box = page.get_by_role("tabpanel").get_by_label("Seed", exact=True)
        box.fill(str(value))
        box.press("Tab")

    def greyed(tab: str, reason: str) -> None:
        page.wait_for_function(f"tab => ({why})(tab) === {reason!r}", arg=tab, timeout=5_000)

    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()   # FCN-8s, the default
    page.wait_for_function(IMAGES_SHOWN, arg=SEGMENT_IMAGES, timeout=60_000)
    choose_model("Bayesian SegNet (lite, MC dropout)")
    greyed("segment", "settings")
    assert note.inner_text().strip() == other and page.evaluate(spoken) == other
    choose_model("FCN-8s (lite)")   # the settings of the results again
    greyed("segment", "")
    choose_model("Bayesian SegNet (lite, MC dropout)")
    page.get_by_role("button", name="Segment", exact=True).click()
    greyed("segment", "")
    page.get_by_text("Bayesian SegNet (lite, MC dropout) ·").wait_for(timeout=60_000)
    set_slider(page, "Monte-Carlo samples", 16)
    greyed("segment", "settings")
    set_slider(page, "Monte-Carlo samples", 8)
    greyed("segment", "")
    seed(5)
    greyed("segment", "settings")
    seed(0)
    greyed("segment", "")
    # another picture says so, not the settings
    another = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
    page.locator("#segment-picture input[type=file]").set_input_files(str(another))
    greyed("segment", "picture")
    assert note.inner_text().strip().startswith("These results are of the previous picture")
    # the Compare tab: one pass, whose seed changes nothing, then two samples, which do
    page.get_by_role("tab", name="Compare").click()
    set_slider(page, "Monte-Carlo samples", 1)
    page.locator("#compare-examples button.gallery-item").first.click()
    page.wait_for_function(IMAGES_SHOWN, arg=["FCN overlay", "SegNet overlay"], timeout=60_000)
    greyed("compare", "")
    seed(7)
    page.wait_for_timeout(500)
    assert page.evaluate(why, "compare") == ""
    set_slider(page, "Monte-Carlo samples", 2)
    greyed("compare", "settings")
    assert page.locator("#compare-stale-note").inner_text().strip().startswith("These results are of other settings")
    page.close()


def test_a_picture_goes_with_the_visitor_to_a_tab_that_has_none(browser, app_url):
    """A visitor who segmented a picture and went on to Compare found an empty box there, and had to upload it again
    to compare the networks on it. An empty tab takes the other tab's picture; a tab with a picture keeps its own."""
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    open_app(page, app_url)
    source = "selector => document.querySelector(selector)?.src ?? null"
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.wait_for_function(f"() => ({source})('#segment-picture img')")
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_function(f"() => ({source})('#compare-picture img')", timeout=10_000)
    assert page.evaluate(source, "#compare-picture img") == page.evaluate(source, "#segment-picture img")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=list(COMPARE_IMAGES), timeout=60_000)   # the ground truth's too
    another = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
    page.locator("#compare-picture input[type=file]").set_input_files(str(another))
    page.wait_for_function(f"() => ({source})('#compare-picture img')?.includes('f01290')")
    page.get_by_role("tab", name="Segment").click()
    page.wait_for_timeout(500)
    assert EXAMPLE.name in page.evaluate(source, "#segment-picture img")   # its own, kept
    page.close()


def test_a_model_chosen_and_run_while_another_runs_is_the_one_the_page_ends_on(browser, app_url):
    """Segment pressed again after switching model mid-run was dropped: the page kept the first model's results."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="Bayesian SegNet (lite, MC dropout)").click()
    set_slider(page, "Monte-Carlo samples", 32)
    page.get_by_role("button", name="Segment", exact=True).click()
    page.wait_for_timeout(300)
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name="FCN-8s (lite)").click()
    page.get_by_role("button", name="Segment", exact=True).click()
    page.get_by_text("FCN-8s (lite)** ·").or_(page.get_by_text("FCN-8s (lite) ·")).first.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)   # nothing older comes after it
    assert page.get_by_text("Bayesian SegNet (lite, MC dropout) ·").count() == 0
    assert page.get_by_text("FCN-8s (lite) ·").count() == 1
    page.close()


def test_windows_high_contrast_keeps_the_legend_colours_the_sliders_and_the_tab_shown(browser, app_url):
    """Forced colours paint every ground in the system's colours: the legend's swatches (the overlay's only key on
    the Segment tab) became empty white boxes, Gradio's range sliders lost their track and thumb (only their ends'
    numbers showed) and the tab shown looked like the others (its accent line became the page's ground)."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, forced_colors="active")
    segment_the_example(page, app_url)
    page.locator(".segdemo-swatch").first.wait_for(timeout=10_000)
    swatches = page.evaluate("""() => [...document.querySelectorAll('.segdemo-swatch')].map(s =>
        [s.style.backgroundColor, getComputedStyle(s).backgroundColor])""")
    assert swatches and all(given == painted for given, painted in swatches), swatches
    # the opacity slider's track and thumb are drawn: its row, between the ends, is not the page's ground alone
    slider = page.get_by_role("tabpanel").get_by_role("slider", name="Overlay opacity")
    box = slider.bounding_box()
    row = np.asarray(Image.open(BytesIO(page.screenshot(clip={"x": box["x"] + 4, "y": box["y"],
                                                               "width": box["width"] - 8, "height": box["height"]}))))
    ground = np.median(row.reshape(-1, row.shape[-1]), axis=0)
    inked = (np.abs(row.astype(int) - ground).max(axis=-1) > 60).mean(axis=0)   # per column, the share inked
    assert (inked > 0).mean() > 0.8, f"the slider's track shows in {100 * (inked > 0).mean():.0f}% of its width"
    selected = page.evaluate("""() => { const tab = document.querySelector('.tab-container button.selected');
        const s = getComputedStyle(tab); return [s.textDecorationLine, s.borderBottomStyle]; }""")
    assert "underline" in selected[0] or selected[1] != "none", selected
    page.close()



# WCAG 1.4.12's text spacing, as a visitor's style sheet or bookmarklet sets it
TEXT_SPACING = ("* {line-height:1.5 !important; letter-spacing:0.12em !important; word-spacing:0.16em !important}"
                " p {margin-bottom:2em !important}")
# Text that runs out of its box: code type past its paragraph's edge, a table cell's or header's words cut.
TEXT_CUT = """() => {
    const cut = [];
    for (const code of document.querySelectorAll('.prose code')) {
        if (!code.offsetParent) continue;
        const right = code.getBoundingClientRect().right, edge = code.closest('.prose').getBoundingClientRect().right;
        if (right > edge + 1) cut.push(`${code.textContent}: ${Math.round(right - edge)} px past its paragraph`);
    }
    for (const box of document.querySelectorAll('.segdemo-words :is(.cell-wrap, .header-content)'))
        if (box.offsetParent && getComputedStyle(box).visibility === 'visible' && box.scrollWidth > box.clientWidth + 1)
            cut.push(`${box.textContent.trim()}: ${box.scrollWidth} px in ${box.clientWidth}`);
    return cut;
}"""


def test_wider_text_spacing_on_the_narrowest_phone_cuts_no_words(browser, app_url):
    """WCAG 1.4.12: a visitor who spaces text out (letters 0.12 em, words 0.16 em, lines 1.5) loses none of it at 320
    px. The class tables' names ("SignSymbo", "Pedestria") and headers ("Mean confidenc") were cut at their cells'
    edges, and a line of Python in code type ran 52 px past its paragraph."""
    page = browser.new_page(viewport={"width": 320, "height": 900})
    segment_the_example(page, app_url)
    page.locator("#class-map-note").wait_for(timeout=10_000)
    page.add_style_tag(content=TEXT_SPACING)
    time.sleep(1)   # Gradio sizes the tables' columns again
    assert page.evaluate(TEXT_CUT) == []
    page.get_by_role("tab", name="Models").click()
    page.get_by_text("Per-class IoU on CamVid").wait_for(timeout=10_000)
    time.sleep(1)
    assert page.evaluate(TEXT_CUT) == []
    page.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_run_buttons_words_read_at_rest_and_under_the_pointer(browser, app_url, theme):
    """WCAG 1.4.3: white on the Soft theme's indigo-500 was 4.47:1, and on its light hover colour, indigo-400, 3.0:1."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=theme)
    open_app(page, app_url)
    for tab, name in (("Segment", "Segment"), ("Compare", "Compare")):
        page.get_by_role("tab", name=tab).click()
        button = page.get_by_role("tabpanel").get_by_role("button", name=name, exact=True)
        page.mouse.move(0, 0)
        time.sleep(0.3)   # Gradio's colour transition
        at_rest = contrast_against_page(button)
        button.hover()
        time.sleep(0.3)
        hovered = contrast_against_page(button)
        assert at_rest >= 4.5 and hovered >= 4.5, f"{name}, {theme}: {at_rest:.2f}:1 at rest, {hovered:.2f}:1 hovered"
    page.close()


def test_after_a_compare_the_segment_tabs_slider_still_blends_its_result(browser, app_url):
    """The two tabs are one session: once the visitor had compared, the Segment tab's result counted as older than
    the Compare tab's, and its opacity slider (and colour box) drew nothing, with no word. Each tab's newest result
    is its own."""
    page = browser.new_page(viewport={"width": 1400, "height": 1500})
    open_app(page, app_url)
    overlay = "Picture | overlay (drag)"
    page.locator("#segment-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Segment", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=[overlay, "Confidence"], timeout=90_000)
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-picture input[type=file]").set_input_files(str(EXAMPLE))
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_function(IMAGES_SHOWN, arg=["FCN overlay", "SegNet overlay"], timeout=90_000)
    page.wait_for_function(TRACKERS_HIDDEN, timeout=10_000)
    page.get_by_role("tab", name="Segment").click()
    before = page.evaluate(PICTURE_SOURCES, overlay)[-1]
    set_slider(page, "Overlay opacity", 1)
    shown = wait_for_new_source(page, overlay, before, "the Segment tab's overlay stayed as it was after a Compare")
    assert only_class_colours(shown, keyed=False)   # at opacity 1: the class colours alone
    page.close()
