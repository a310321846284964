() => {
  // ?tab=compare in the page's address opens the Compare tab (?tab=models the Models tab): a blog post about the
  // two networks can frame the comparison itself, and a link can lead to it, where the page always opened on
  // Segment. Clicked as a visitor would click it, so that what a tab does when shown runs too (the picture that
  // follows to an empty tab). Any other value, or none, leaves the Segment tab. And the address follows the tab
  // the visitor picks (replaced, not a step of the browser's history; Segment's address has no ?tab), so that the
  // address copied or reloaded shows the same tab. The address is the page's own: the Space's, an iframe's src.
  // A web component in another site's page reads its element's data-tab instead (<gradio-app data-tab="compare">):
  // that page's address, ?tab included, is its site's, and is left alone. Run once by Gradio when the page loads
  // (launch(js=...)).
  const TABS = ["segment", "compare", "models"];
  const own = window.__gradio_mode__ === "app";   // not a web component in another site's page
  const element = document.getElementById("segment-picture")?.closest("gradio-app");
  const named = own ? new URLSearchParams(window.location.search).get("tab") : element?.dataset.tab;
  const wanted = named?.trim().toLowerCase();
  if (wanted && TABS.includes(wanted)) {
    const button = document.getElementById(`${wanted}-tab-button`);
    if (button && button.getAttribute("aria-selected") !== "true") button.click();
  }
  if (!own) return;

  // whichever way the tab changed (a click, the keyboard, a script): the button Gradio marks selected
  function follow() {
    const shown = TABS.find((name) => document.getElementById(`${name}-tab-button`)
      ?.getAttribute("aria-selected") === "true");
    if (!shown) return;
    const address = new URL(window.location.href);
    if (shown === "segment") address.searchParams.delete("tab");
    else address.searchParams.set("tab", shown);
    if (address.href !== window.location.href) window.history.replaceState(window.history.state, "", address);
  }
  new MutationObserver(follow).observe(document.body, {subtree: true, attributes: true,
                                                       attributeFilter: ["aria-selected"]});
}
