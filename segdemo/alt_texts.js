(alts) => {
  // Alt text for the pictures Gradio leaves without any (alt=""), which a screen reader skips: the bundled
  // examples' thumbnails (Gradio's Examples take none) and the Segment tab's picture and overlay (its ImageSlider
  // takes none). Run once by Gradio when the page loads (launch(js=...), with segdemo.ui's PAGE_ALTS), and again
  // whenever a picture arrives.
  const FRAME = /camvid_([A-Za-z0-9]+)_f(\d+)\.[a-z]+$/i;  // examples/camvid_<sequence>_f<frame>.jpg

  function describe() {
    for (const img of document.querySelectorAll("[id$='-examples'] img")) {
      if (img.alt) continue;
      const frame = decodeURIComponent(new URL(img.src, location.href).pathname).match(FRAME);
      img.alt = frame ? `${alts.example} ${Number(frame[2])} of sequence ${frame[1]}` : alts.example_other;
    }
    for (const slider of document.querySelectorAll(".segdemo-slider")) {
      const [picture, overlay] = slider.querySelectorAll("img");
      if (picture && !picture.alt) picture.alt = alts.picture;
      if (overlay && !overlay.alt) overlay.alt = alts.overlay;
    }
  }

  // And names for the downloads. A map's download is a link around a button, both reached with Tab: the link, which
  // has no name, is taken out of the Tab order, and the button ("Download", on every map alike) is named after the
  // file it downloads ("Download confidence_fcn8s_lite.webp"). A class map's link was read as its size ("3.7 KB
  // ⇣"); it says its file and size, after a comma: words in brackets do not count as a name's words for the
  // words shown (WCAG 2.5.3, label in name; axe-core drops them), so "(3.7 KB)" left the link's shown words out.
  function nameDownloads() {
    for (const link of document.querySelectorAll("a.download-link[download]")) {
      const file = link.getAttribute("download");
      const button = link.querySelector("button");
      if (button) {
        if (link.getAttribute("tabindex") !== "-1") link.setAttribute("tabindex", "-1");
        if (file && button.getAttribute("aria-label") !== `Download ${file}`) button.setAttribute("aria-label", `Download ${file}`);
      } else if (file) {
        const name = `Download ${file}, ${link.textContent.replace(/[\s\u00a0]*\u21e3/, "").replace(/\u00a0/g, " ").trim()}`;
        if (link.getAttribute("aria-label") !== name) link.setAttribute("aria-label", name);
      }
    }
  }

  // And the picture box's upload area named by the words it shows (segdemo.ui's placeholder: "Drop a street picture
  // here ... up to 50 MB"), not Gradio's "Drop an image file here to upload", words it no longer shows: a visitor who
  // speaks the words seen (WCAG 2.5.3, label in name) was not understood, and a screen reader missed the formats read.
  function nameUploads() {
    const areas = ":is(#segment-picture, #compare-picture) .upload-container[aria-label]";
    for (const area of document.querySelectorAll(areas)) {
      if (area.textContent.trim()) area.removeAttribute("aria-label");
    }
  }

  // And no Tab stop that does nothing. The Models tab's plots are pictures to look at, not buttons: Gradio wraps
  // each in one, a Tab stop that did nothing (their full-screen and download buttons stay). A dropdown's open list,
  // where it scrolls (a phone's 12 classes), is a box Chrome lets Tab stop on: a Tab out of the dropdown went there,
  // the list closed under it, and focus fell to the page.
  function skipDeadStops() {
    for (const element of document.querySelectorAll(".trust-plot button:has(img), ul.option-list")) {
      if (element.getAttribute("tabindex") !== "-1") element.setAttribute("tabindex", "-1");
    }
  }

  // each sets only what differs, so a change it makes calls it once more, to find nothing left to set
  new MutationObserver(() => { describe(); nameDownloads(); nameUploads(); skipDeadStops(); }).observe(document.body, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ["src", "href", "download", "aria-label", "tabindex"],
  });
  describe();
  nameDownloads();
  nameUploads();
  skipDeadStops();
}
