() => {
  // A result shown beside a picture it was not made from is greyed out, under a line that says so. A visitor who
  // uploads a second picture (or clicks an example, or clears the picture) kept the first picture's overlay and maps
  // at full strength, beside the new picture, until pressing the button: nothing said they were not of it. And an
  // example clicked while another run was going showed that run's result as it came, for seconds, before the
  // example's own. A result is of the picture its run was sent with (Gradio's file path for it, which is the same
  // for the same file); each tab compares that with the picture shown whenever either changes. Gradio's events call
  // window.segdemoResults (segdemo/ui.py: `_results_follow_the_picture`); the page's CSS greys the tab's results and
  // shows its line while the Tabs element has the class "segdemo-stale-<tab>" (the Tabs element stays while a tab's
  // own contents are drawn again on each visit), and "segdemo-cleared-<tab>" picks the line for a picture no longer
  // shown. A screen reader is told too, in a live region of its own (the line appears by CSS, which it does not
  // hear), and the docked readout (segdemo/readout_dock.js) hears of each change by a "segdemo-stale" event.
  // Run once by Gradio when the page loads (launch(js=...)).
  const pictureOf = (value) => (value && (value.path ?? value.url)) || null;
  const sent = {};  // each run's picture, by tab and run, as it was sent: a run's result may come after a new picture
  const shown = {};  // each tab's picture whose result the page shows
  const copyOf = {};  // the upload each of the app's browser copies (a TIFF or HEIC drawn as WebP) stands for
  const copying = {};  // each tab where an upload's copy may be on its way: its picture's change waits for it
  const samePicture = (path) => (path && copyOf[path]) || path;

  const spoken = document.createElement("div");
  spoken.className = "segdemo-spoken";
  spoken.setAttribute("role", "status");
  spoken.setAttribute("aria-live", "polite");
  (document.querySelector(".gradio-container .contain") ?? document.body).appendChild(spoken);

  function mark(tab, current) {
    const tabs = document.querySelector(".gradio-container .contain .tabs");
    if (!tabs) return;
    const stale = tab in shown && samePicture(pictureOf(current)) !== samePicture(shown[tab]);
    const was = tabs.classList.contains(`segdemo-stale-${tab}`);
    tabs.classList.toggle(`segdemo-stale-${tab}`, stale);
    tabs.classList.toggle(`segdemo-cleared-${tab}`, stale && !pictureOf(current));
    if (stale !== was) {
      const note = document.getElementById(`${tab}-stale-note`);
      spoken.textContent = stale && note ? note.innerText.trim() : "";
      window.dispatchEvent(new CustomEvent("segdemo-stale", { detail: { tab, stale } }));
    }
  }

  window.segdemoResults = {
    // a run of `tab` (its button or its examples: `run`) sent with `picture`
    sent(tab, run, picture) {
      sent[`${tab}/${run}`] = pictureOf(picture);
      if (run === "upload") copying[tab] = true;
    },
    // that run's result is on the page; `current` is the picture shown now
    arrived(tab, run, current) {
      shown[tab] = sent[`${tab}/${run}`] ?? null;
      mark(tab, current);
    },
    // the tab's picture changed (an upload, an example, a clear, a format drawn for the browser)
    // (while an upload's copy may be coming, a new picture is told by `copied`, which knows whether it is the copy:
    // else a result sent with the upload was greyed out for a moment, and a screen reader told so)
    changed(tab, current) { if (!(copying[tab] && pictureOf(current))) mark(tab, current); },
    // the upload sent as run "upload" is shown now as `current`: the app's copy of it, for a browser that cannot draw
    // a TIFF or HEIC (or the upload itself, or nothing for a file refused). A run sent with the upload, before its
    // copy came, made the same picture's results; so does a run sent with the copy, for a result sent with either.
    copied(tab, current) {
      copying[tab] = false;
      const upload = sent[`${tab}/upload`];
      const copy = pictureOf(current);
      if (upload && copy && copy !== upload) copyOf[copy] = samePicture(upload);
      mark(tab, current);
    },
    // whether the results of `tab` are greyed out
    stale(tab) {
      return !!document.querySelector(".gradio-container .contain .tabs")?.classList.contains(`segdemo-stale-${tab}`);
    },
  };
}
