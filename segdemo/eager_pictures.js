() => {
  // Every result's map loads as soon as it arrives. Gradio draws its images with loading="lazy", and a lazy
  // picture starts to load only when the browser judges it near the viewport: on a phone none of the Compare tab's
  // ten maps had loaded 3 s after the result came, each block stood empty and short, and the page grew under the
  // visitor's finger as the maps came in. In a frame from another site (a blog's iframe) a map the frame had
  // scrolled past stayed blank until the visitor scrolled back to it. A result's maps are what the visitor asked
  // for, sent with it: nothing is saved by waiting. The Models tab's plots stay lazy: each is drawn four times (light
  // and dark, wide and stacked) and the three a page hides would cost 680 kB more. Run once by Gradio when the page
  // loads (launch(js=...)).
  const MAPS = ".segdemo-map img[loading=lazy], .segdemo-slider img[loading=lazy]";
  function loadNow() {
    for (const img of document.querySelectorAll(MAPS)) img.loading = "eager";
  }

  // Gradio may set loading again on a picture it reuses; setting it to "eager" matches nothing, so no loop
  new MutationObserver(loadNow).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["loading", "src"],
  });
  loadNow();
}
