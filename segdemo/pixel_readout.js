() => {
  // The page's side of segdemo/pixel_readout.py, run once by Gradio when the page loads (launch(js=...)).
  //
  // 1. A ring on every map of a tab at the pixel its readout reads, so that a visitor sees the same place on the
  //    confidence, error and uncertainty maps (and on FCN's and SegNet's side by side) as the figures they read.
  //    The server's readout names the pixel in a class of an empty span (segdemo.captions.pixel_markdown:
  //    segdemo-at-<x>-<y>-<width>-<height>); no map is encoded again. It follows the page by a MutationObserver.
  // 2. A click on the Segment tab's overlay reads its pixel too. Gradio's ImageSlider sends no select event, so the
  //    click is passed on to a map of the same result at the same pixel, whose select event reads it.
  const ANCHOR = /(?:^|\s)segdemo-at-(\d+)-(\d+)-(\d+)-(\d+)(?:\s|$)/;
  const MARKER = "segdemo-marker";
  const MAPS = ".segdemo-map img";
  const SLIDER = ".segdemo-slider";
  let scheduled = false;

  // Where the <img>'s picture is drawn inside its box: scaled to fit as its object-fit says, and centred.
  function drawnAt(img) {
    const box = img.getBoundingClientRect();
    const fit = getComputedStyle(img).objectFit;
    let scaleX = box.width / img.naturalWidth;
    let scaleY = box.height / img.naturalHeight;
    if (fit === "contain" || fit === "scale-down") {
      const scale = Math.min(scaleX, scaleY, fit === "scale-down" ? 1 : Infinity);
      scaleX = scaleY = scale;
    }
    const left = box.left + (box.width - img.naturalWidth * scaleX) / 2;
    const top = box.top + (box.height - img.naturalHeight * scaleY) / 2;
    return { left, top, scaleX, scaleY };
  }

  function readPixel(readout) {
    for (const span of readout.querySelectorAll("span.segdemo-at")) {
      const found = span.className.match(ANCHOR);
      if (found) return found.slice(1).map(Number);
    }
    return null;
  }

  const tabOf = (element) => element.closest("[role=tabpanel], .tabitem") || document;

  function place() {
    scheduled = false;
    for (const readout of document.querySelectorAll(".segdemo-pixel")) {
      const pixel = readPixel(readout);
      const done = new Set();  // the slider's two pictures, one over the other, share one ring
      for (const img of tabOf(readout).querySelectorAll(`${MAPS}, ${SLIDER} img`)) {
        // the ring goes in the picture's positioned container, so the page's own layout is left as it is
        const frame = img.offsetParent;  // null while the map is hidden
        if (frame === null || done.has(frame)) continue;
        done.add(frame);
        let marker = frame.querySelector(`:scope > .${MARKER}`);
        // only on a map of the result read (the same size: the picture, and a key to its right)
        const fits = pixel && img.complete && img.naturalHeight === pixel[3] && img.naturalWidth >= pixel[2];
        if (!fits) {
          if (marker) marker.remove();
          continue;
        }
        const drawn = drawnAt(img);
        const outer = frame.getBoundingClientRect();
        const x = drawn.left + (pixel[0] + 0.5) * drawn.scaleX - outer.left - frame.clientLeft;
        const y = drawn.top + (pixel[1] + 0.5) * drawn.scaleY - outer.top - frame.clientTop;
        if (!marker) {
          marker = document.createElement("div");
          marker.className = MARKER;
          marker.setAttribute("aria-hidden", "true");
          frame.appendChild(marker);
        }
        const style = `left: ${x.toFixed(1)}px; top: ${y.toFixed(1)}px;`;
        if (marker.style.cssText !== style) marker.style.cssText = style;
      }
    }
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(place);
    }
  }

  const isMarker = (node) => node.classList !== undefined && node.classList.contains(MARKER);
  // the markers' own changes are not the page's: following them would never settle
  const ours = (record) => {
    const nodes = [...record.addedNodes, ...record.removedNodes];
    return isMarker(record.target) || (record.type === "childList" && nodes.length > 0 && nodes.every(isMarker));
  };
  new MutationObserver((records) => {
    if (!records.every(ours)) schedule();
  }).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["src", "class", "style", "hidden"],
  });
  document.addEventListener("load", schedule, true);  // a map's picture arrived: its drawn size is known
  window.addEventListener("resize", schedule);
  schedule();

  // A click on the overlay, not a drag of its divider (the pointer moved under 5 px): passed on to the first shown
  // map of the same result, at the same pixel, as Gradio finds the pixel a click is on (scale-down, centred).
  let pressed = null;
  document.addEventListener("pointerdown", (event) => {
    pressed = event.target.closest?.(SLIDER) ? [event.clientX, event.clientY] : null;
  }, true);
  document.addEventListener("click", (event) => {
    const slider = event.target.closest?.(SLIDER);
    if (!slider || !event.isTrusted || !pressed) return;
    if (Math.hypot(event.clientX - pressed[0], event.clientY - pressed[1]) >= 5) return;
    const picture = [...slider.querySelectorAll("img")].find((img) => img.offsetParent !== null && img.complete);
    if (!picture) return;
    const drawn = drawnAt(picture);
    const x = Math.floor((event.clientX - drawn.left) / drawn.scaleX);
    const y = Math.floor((event.clientY - drawn.top) / drawn.scaleY);
    if (x < 0 || y < 0 || x >= picture.naturalWidth || y >= picture.naturalHeight) return;
    const map = [...tabOf(slider).querySelectorAll(MAPS)].find((img) => img.offsetParent !== null && img.complete
      && img.naturalHeight === picture.naturalHeight && img.naturalWidth >= picture.naturalWidth);
    const button = map?.closest("button");
    if (!button) return;
    const box = map.getBoundingClientRect();
    const scale = Math.min(box.width / map.naturalWidth, box.height / map.naturalHeight, 1);
    button.dispatchEvent(new MouseEvent("click", {
      bubbles: true, cancelable: true, view: window,
      clientX: clientFor(x, box.left + (box.width - map.naturalWidth * scale) / 2, scale),
      clientY: clientFor(y, box.top + (box.height - map.naturalHeight * scale) / 2, scale),
    }));
  }, true);

  // The whole CSS pixel at which Gradio reads the map pixel nearest ``pixel`` (it rounds (client - start) / scale):
  // an event's coordinates are whole CSS pixels, which on a map drawn smaller miss some of its pixels by one.
  function clientFor(pixel, start, scale) {
    const near = Math.round(start + pixel * scale);
    return [near, near - 1, near + 1].reduce((best, client) =>
      Math.abs(Math.round((client - start) / scale) - pixel) < Math.abs(Math.round((best - start) / scale) - pixel)
        ? client : best);
  }
}
