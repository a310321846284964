(alts) => {
  // Alt text for the pictures Gradio leaves without any (alt=""), which a screen reader skips: the bundled
  // examples' thumbnails (Gradio's Examples take none) and the Segment tab's picture and overlay (its ImageSlider
  // takes none). Run once by Gradio when the page loads (launch(js=...), with segdemo.ui's ``alts``), and again
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

  // alt is not among the attributes followed, so setting it does not call describe again
  new MutationObserver(describe).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["src"],
  });
  describe();
}
