() => {
  // A result shown beside a picture, or settings, it was not made from is greyed out, under a line that says so. A
  // visitor who uploads a second picture (or clicks an example, or clears the picture) kept the first picture's
  // overlay and maps at full strength, beside the new picture, until pressing the button: nothing said they were not
  // of it. One who chose another model, or another number of samples, saw the first model's maps under the second's
  // name. And an example clicked while another run was going showed that run's result as it came, for seconds,
  // before the example's own. A result is of the picture and the settings its run was sent with (Gradio's file path
  // for the picture, which is the same for the same file; a key of the settings the result depends on, made by the
  // page: segdemo/ui.py, `_settings_key`); each tab compares them with those shown whenever either changes. Gradio's
  // events call window.segdemoResults (segdemo/ui.py: `_results_follow_the_inputs`); the page's CSS greys the tab's
  // results and shows its line while the Tabs element has the class "segdemo-stale-<tab>" (the Tabs element stays
  // while a tab's own contents are drawn again on each visit), and "segdemo-cleared-<tab>" (no picture shown) or
  // "segdemo-resettled-<tab>" (the same picture, other settings) picks the line. A screen reader is told too, in a
  // live region of its own (the line appears by CSS, which it does not hear), and the docked readout
  // (segdemo/readout_dock.js) hears of each change by a "segdemo-stale" event.
  // Run once by Gradio when the page loads (launch(js=...)).
  const pictureOf = (value) => (value && (value.path ?? value.url)) || null;
  const sent = {};  // each run's picture and settings, by tab and run, as sent: its result may come after new ones
  const shown = {};  // each tab's picture and settings whose result the page shows
  const chosen = {};  // each tab's settings chosen now
  const why = {};  // why each tab's results are greyed out: "picture", "cleared", "settings" or "" (they are not)
  const copyOf = {};  // the upload each of the app's browser copies (a TIFF or HEIC drawn as WebP) stands for
  const copying = {};  // each tab where an upload's copy may be on its way: its picture's change waits for it
  const samePicture = (path) => (path && copyOf[path]) || path;

  const spoken = document.createElement("div");
  spoken.className = "segdemo-spoken";
  spoken.setAttribute("role", "status");
  spoken.setAttribute("aria-live", "polite");
  (document.querySelector(".gradio-container .contain") ?? document.body).appendChild(spoken);

  // said once more even where it is the same words as before (a second run's): the region is emptied first
  function say(words) {
    spoken.textContent = "";
    setTimeout(() => { spoken.textContent = words; }, 50);
  }

  function reason(tab, current) {
    const result = shown[tab];
    if (!result) return "";
    if (samePicture(pictureOf(current)) !== samePicture(result.picture)) {
      return pictureOf(current) ? "picture" : "cleared";
    }
    const known = result.settings !== undefined && chosen[tab] !== undefined;
    return known && result.settings !== chosen[tab] ? "settings" : "";
  }

  function mark(tab, current) {
    const tabs = document.querySelector(".gradio-container .contain .tabs");
    if (!tabs) return;
    const now = reason(tab, current);
    tabs.classList.toggle(`segdemo-stale-${tab}`, now !== "");
    tabs.classList.toggle(`segdemo-cleared-${tab}`, now === "cleared");
    tabs.classList.toggle(`segdemo-resettled-${tab}`, now === "settings");
    if (now !== (why[tab] ?? "")) {
      why[tab] = now;
      const note = document.getElementById(`${tab}-stale-note`);
      spoken.textContent = now && note ? note.innerText.trim() : "";
      window.dispatchEvent(new CustomEvent("segdemo-stale", { detail: { tab, stale: now !== "" } }));
    }
  }

  // Gradio's messages (why a picture was refused, a run failed) are said too: a toast is added with its words
  // already in it, and a screen reader may not say a live region that comes already filled. A run pressed with
  // no picture is told so on the picture box (segdemo.inputs.picture_given), which a visitor who scrolled down
  // to the button may not see: the box is brought into view.
  const found = (node, selector) => node.nodeType === Node.ELEMENT_NODE
    && (node.matches(selector) ? node : node.querySelector(selector));
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        const toast = found(node, "[data-testid=toast-body]");
        if (toast) say(toast.innerText.replace(/\s+/g, " ").trim());
        const invalid = found(node, ".validation-error");
        if (invalid) {
          say(invalid.innerText.replace(/\s+/g, " ").trim());
          const box = invalid.closest(".block") ?? invalid;
          const { top, bottom } = box.getBoundingClientRect();
          if (top < 0 || bottom > window.innerHeight) box.scrollIntoView({ block: "center" });
        }
      }
    }
  }).observe(document.body, { subtree: true, childList: true });

  window.segdemoResults = {
    // a run of `tab` (its button, its examples, or an upload's copy: `run`) sent with `picture` and `settings`
    sent(tab, run, picture, settings) {
      sent[`${tab}/${run}`] = { picture: pictureOf(picture), settings };
      if (settings !== undefined) chosen[tab] = settings;
      if (run === "upload") copying[tab] = true;
    },
    // that run's result is on the page; `current` and `settings` are the picture and settings shown now. A screen
    // reader is told: nothing else said that a run had ended (its results are paragraphs and pictures).
    arrived(tab, run, current, settings) {
      shown[tab] = sent[`${tab}/${run}`] ?? { picture: null };
      chosen[tab] = settings;
      mark(tab, current);
      if (!why[tab]) say(`The ${tab === "compare" ? "comparison" : "segmentation"} is done: its results are below.`);
    },
    // the tab's picture or settings changed (an upload, an example, a clear, a format drawn for the browser; a
    // model, samples or seed chosen). While an upload's copy may be coming, a new picture is told by `copied`, which
    // knows whether it is the copy: else a result sent with the upload was greyed out for a moment, and a screen
    // reader told so.
    changed(tab, current, settings) {
      chosen[tab] = settings;
      if (!(copying[tab] && pictureOf(current))) mark(tab, current);
    },
    // the app's copy of an upload came (segdemo/ui.py: `_show_uploads_in_every_browser`): `copy`, a WebP of a TIFF
    // or HEIC for a browser that cannot draw it (null for a file refused), made from the file `source` ("" where the
    // upload needs no copy). It takes the upload's place only while the upload is still the tab's picture: a visitor
    // who clicked an example, or chose another file, while it was being made (a 12-megapixel HEIC takes 2-3 s) saw
    // their choice replaced by the copy, beside the results of their choice greyed out as of another picture.
    // Returns the picture to show. A run sent with the upload, before its copy came, made the same picture's results;
    // so does a run sent with the copy, for a result sent with either.
    copied(tab, current, copy, source) {
      copying[tab] = false;
      const shown = source && pictureOf(current) === source ? copy : current;
      const path = pictureOf(shown);
      if (source && path && path !== source) copyOf[path] = samePicture(source);
      mark(tab, shown);
      return shown;
    },
    // whether the results of `tab` are greyed out
    stale(tab) { return !!why[tab]; },
    // why: "picture" (another is shown), "cleared" (none is), "settings" (other settings are chosen), or ""
    why(tab) { return why[tab] ?? ""; },
  };
}
