() => {
  // The page says it is in English, which every word segdemo writes is. Gradio 6.31 sets <html lang> to the
  // browser's language and translates its own few words (Download, Undo, "Built with Gradio"): to a visitor whose
  // browser speaks German the page declared itself German, and a screen reader read its English with a German
  // voice (WCAG 3.1.1, the language of the page). The app's root is marked English, which holds in a blog's page
  // too, whose <html> is the blog's to declare. On the app's own page Gradio's words are made English as well, by
  // the function its settings panel calls when a visitor picks a language (a panel the page's footer leaves out),
  // so that the page is in one language and declares it. Run once by Gradio when the page loads (launch(js=...)).
  const ours = document.getElementById("segment-picture");
  const root = ours?.closest("gradio-app") ?? ours?.closest(".gradio-container")
    ?? document.querySelector("gradio-app");
  root?.setAttribute("lang", "en");
  if (window.__gradio_mode__ !== "app") return;   // a web component in another site's page: its <html> is the site's

  const english = () => document.documentElement.setAttribute("lang", "en");
  // Gradio's core module, as the page loaded it (its name carries a hash): importing it again gives the same
  // module, whose locale is the page's
  const core = performance.getEntriesByType("resource").map((entry) => entry.name)
    .find((name) => /\/assets\/core-[\w-]+\.js$/.test(new URL(name).pathname));
  if (!core) return english();
  import(core).then((gradio) => (typeof gradio.changeLocale === "function" ? gradio.changeLocale("en") : english()),
    english);
}
