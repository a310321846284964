"""axe-core, the standard automated WCAG checker, on the page as visitors meet it (Debian's chromium, the real app).

Its rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices (heading order, landmarks), run on
the Segment tab before and after a bundled example's run, the Compare tab after a run and the Models tab, in the
light and the dark theme and at a phone's width. Any finding fails the test but those of the allow-list below, each
one Gradio's own markup or an exception WCAG makes, with the reason. axe-core's version is pinned in
tests/js/package.json (npm ci --prefix tests/js installs it); a well-kept rule engine finds what checks of our own
would not think of (it found the names of the maps in 3.6:1, a link's name without its words shown, a skipped
heading level, none of which the hand-written checks of tests/test_browser.py asked about). And what axe cannot
check, the page's declared language against its words', to a browser set to another language."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT
from test_browser import COMPARE_IMAGES, IMAGES_SHOWN, blog_post, browser, open_app  # noqa: F401

AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA, and axe's best practices
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
# What axe may find and the test lets pass: (rule, a CSS selector the element found matches, why). Nothing else.
ALLOWED = [
    # Gradio's empty output (its Empty component, before a run: the overlay, the maps, the class map) is a <div
    # aria-label="Empty value"> with no role, where ARIA allows no name. A screen reader ignores the name, so nothing
    # is said wrong; a role would mean rewriting Gradio's own markup, which the next Gradio draws again.
    ("aria-prohibited-attr", 'div.empty[aria-label="Empty value"]',
     "Gradio's empty output names a <div> without a role"),
    # The Monte-Carlo samples' slider, off while the model (FCN) is not sampled: its ends' numbers are greyed out on
    # purpose with the slider (segdemo/app.css). WCAG 1.4.3 asks no contrast of an inactive control's text; axe
    # cannot tell, as the numbers are not the disabled input itself. The line under the slider's name says why it
    # is off, and reads at 4.8:1.
    ("color-contrast", ".segdemo-sampling:has(input:disabled) .slider_input_container *",
     "an inactive control's text (WCAG 1.4.3's exception)"),
]
# axe.run, then its findings less those allowed: [{rule, impact, help, nodes: [{target, html, summary}]}]
AXE_RUN = """async ([tags, allowed]) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    const isAllowed = (rule, target) => {
        const element = document.querySelector(target[target.length - 1]);
        return element !== null && allowed.some(([id, selector]) => id === rule && element.matches(selector));
    };
    return result.violations.map(v => ({rule: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.filter(n => !isAllowed(v.id, n.target)).map(n => ({target: n.target.join(' '),
            html: n.html.slice(0, 160), summary: n.failureSummary.replace(/\\s+/g, ' ').slice(0, 240)}))}))
        .filter(v => v.nodes.length);
}"""
# Nothing of Gradio's progress is shown: every output has its result (its status tracker is gone).
SETTLED = "() => !document.querySelector('.pending, .eta-bar, .progress-text')"


# for the session, so that it is set up (or skips) before the server is started
@pytest.fixture(scope="session")
def axe_script():
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail("axe-core is not installed: .ci/run must run npm ci --prefix tests/js")
        pytest.skip("axe-core is not installed (npm ci --prefix tests/js, as scripts/test.sh does)")
    return AXE


def axe_findings(page, axe: Path, state: str) -> list[str]:
    """axe-core's findings on the page as it is, less those allowed: one line for each element, named by `state`."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found = page.evaluate(AXE_RUN, [TAGS, [[rule, selector] for rule, selector, _ in ALLOWED]])
    return [f"{state}: {v['rule']} ({v['impact']}: {v['help']}) at {n['target']}: {n['html']} -- {n['summary']}"
            for v in found for n in v["nodes"]]


def run_example(page, tab: str, shown: list[str]) -> None:
    """Click the tab's first bundled example and wait until its results have all arrived."""
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{tab.lower()}-examples button.gallery-item").first.click()
    page.mouse.wheel(0, 10_000)   # the pictures load as they are scrolled to, on a phone
    page.wait_for_function(IMAGES_SHOWN, arg=shown, timeout=90_000)
    page.locator(".segdemo-class-map a[data-testid=download-link]:visible").first.wait_for(timeout=30_000)
    page.wait_for_function(SETTLED, timeout=30_000)
    page.wait_for_timeout(300)   # Gradio's fade of the results, and the page's scripts (alt texts, names)


SEGMENT_SHOWN = ["Picture | overlay (drag)", "Confidence", "Errors (red: wrong)", "Boundary uncertainty"]


@pytest.mark.parametrize("look", ["desktop", "dark", "phone"])
def test_axe_finds_nothing_on_the_page_before_and_after_a_run(axe_script, browser, app_url, look):  # noqa: F811
    """Light at 1400 px: the Segment tab before and after an example's run, the Models tab, the Compare tab after
    a run. Dark (?__theme=dark): the Segment tab before and after a run, the Models tab (its plots drawn for the
    dark). A phone, 390 px: the Segment tab before and after a run."""
    width = 390 if look == "phone" else 1400
    page = browser.new_page(viewport={"width": width, "height": 900})
    open_app(page, app_url + ("?__theme=dark" if look == "dark" else ""))
    findings = axe_findings(page, axe_script, f"{look}, Segment tab before a run")
    run_example(page, "Segment", SEGMENT_SHOWN)
    findings += axe_findings(page, axe_script, f"{look}, Segment tab after a run")
    if look != "phone":
        page.get_by_role("tab", name="Models").click()
        page.locator(".trust-plot img").first.wait_for(state="attached", timeout=10_000)
        page.wait_for_timeout(300)
        findings += axe_findings(page, axe_script, f"{look}, Models tab")
    if look == "desktop":
        run_example(page, "Compare", list(COMPARE_IMAGES))
        findings += axe_findings(page, axe_script, f"{look}, Compare tab after a run")
    page.close()
    assert not findings, "axe-core found:\n" + "\n".join(findings)


# The words of Gradio's own in the app: its footer, and its buttons' names (a map's Download, the picture's Undo)
GRADIOS_WORDS = """() => [document.querySelector('footer')?.innerText ?? '',
    ...[...document.querySelectorAll('gradio-app button[title]')].map(button => button.title)]"""


def test_to_a_browser_set_to_german_the_page_says_it_is_in_english(browser, app_url):  # noqa: F811
    """WCAG 3.1.1, the language of the page, which axe cannot check: it reads the declared language, not the
    words. Gradio 6.31 declared the page in the browser's language (<html lang="de">) and put its own few words in
    German ("Mit Gradio erstellt", "Herunterladen"): a screen reader read every English word of segdemo's with a
    German voice. The page, and the app's root, now say English, and Gradio's words are English too."""
    page = browser.new_page(locale="de-DE", viewport={"width": 1400, "height": 900})
    open_app(page, app_url)
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=10_000)
    assert page.evaluate("() => document.querySelector('gradio-app').lang") == "en"
    run_example(page, "Segment", SEGMENT_SHOWN)
    footer, *titles = page.evaluate(GRADIOS_WORDS)
    assert "Built with Gradio" in footer, footer
    assert "Download" in titles and "Herunterladen" not in titles, titles
    assert page.evaluate("() => document.documentElement.lang") == "en"   # as it stayed through the run
    page.close()


@pytest.mark.parametrize("blog_post", ["web-component"], indirect=True)
def test_in_another_sites_page_the_app_says_it_is_in_english_and_leaves_the_page_its_language(browser,  # noqa: F811
                                                                                              blog_post):  # noqa: F811
    """As a web component in a blog's page, the page's <html> is the blog's: only the app's root is declared
    English, and Gradio's words stay in the visitor's language (the page's is the blog's to say)."""
    _, url = blog_post
    page = browser.new_page(locale="de-DE", viewport={"width": 1000, "height": 900})
    page.goto(url)
    page.wait_for_function("() => document.getElementById('segdemo-app-width')", timeout=30_000)   # the script ran
    page.wait_for_function("() => document.querySelector('gradio-app').lang === 'en'", timeout=10_000)
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.documentElement.lang") != "en"
    page.close()
