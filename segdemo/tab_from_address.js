() => {
  // ?tab=compare in the page's address opens the Compare tab (?tab=models the Models tab): a blog post about the
  // two networks can frame the comparison itself, and a link can lead to it, where the page always opened on
  // Segment. Clicked as a visitor would click it, so that what a tab does when shown runs too (the picture that
  // follows to an empty tab). Any other value, or none, leaves the Segment tab. The address read is the page's
  // own: the Space's, an iframe's src; a web component's is its host page's. Run once by Gradio when the page
  // loads (launch(js=...)).
  const wanted = new URLSearchParams(window.location.search).get("tab")?.trim().toLowerCase();
  if (!wanted || !/^(segment|compare|models)$/.test(wanted)) return;
  const button = document.getElementById(`${wanted}-tab-button`);
  if (button && button.getAttribute("aria-selected") !== "true") button.click();
}
