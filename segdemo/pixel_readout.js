() => {
  // The page's side of segdemo/pixel_readout.py, run once by Gradio when the page loads (launch(js=...)).
  //
  // 1. A ring on every map of a tab at the pixel its readout reads, so that a visitor sees the same place on the
  //    confidence, error and uncertainty maps (and on FCN's and SegNet's side by side) as the figures they read.
  //    The server's readout names the pixel in a class of an empty span (segdemo.captions.pixel_markdown:
  //    segdemo-at-<x>-<y>-<width>-<height>); no map is encoded again. It follows the page by a MutationObserver.
  // 2. A click on the Segment tab's overlay reads its pixel too, and a tap (a finger on it scrolls the page, too).
  //    Gradio's ImageSlider sends no select event, so the click is passed on to a map of the same result at the
  //    same pixel, whose select event reads it.
  // 3. The keyboard reads pixels too, for a visitor without a mouse: on a map reached with Tab, Enter or Space reads
  //    the pixel the ring marks (the picture's centre at first) and the arrow keys move the ring, 8 of the picture's
  //    pixels a press, with Shift the smallest step a click can make (1 pixel on a map shown at its full size). Gradio's own answer to Enter was a click with no position, which read nothing.
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
      // a screen reader says each new reading (a key press on a map reads one, and nothing else on the page moves):
      // the Markdown's own box, which has the class too, not the block around it, whose Gradio timer was read out
      // with it ("0.0s At pixel ..."), and every reading twice (a region in a region)
      const live = readout.querySelector(".segdemo-pixel") ? null : "polite";
      if (readout.getAttribute("aria-live") !== live) {
        if (live) readout.setAttribute("aria-live", live);
        else readout.removeAttribute("aria-live");
      }
      setTimeout(() => pump(readout), SETTLE_MS);  // an answer came in: the pixel the keys moved to since is asked for
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
    if (map) clickMap(map, x, y);
  }, true);

  // A finger on the overlay: Gradio's ImageSlider cancels every touchstart on it (for its pinch zoom), so a tap gave
  // no click and read nothing, and a swipe begun on it did not scroll the page (on a phone in landscape the overlay
  // is 85% of the screen's height). One finger away from the divider, on an overlay not zoomed, is kept from that
  // handler: the browser scrolls the page, and a tap clicks, which reads the pixel (above). The divider's drag
  // (its own element), a second finger's pinch and a zoomed overlay's pan stay Gradio's.
  document.addEventListener("touchstart", (event) => {
    const slider = event.target.closest?.(SLIDER);
    if (!slider || event.touches.length !== 1 || event.target.closest("[data-testid=slider]")) return;
    const zoomed = [...slider.querySelectorAll("img")].some((img) => {
      const transform = getComputedStyle(img).transform;
      return transform !== "none" && new DOMMatrix(transform).a !== 1;
    });
    if (!zoomed) event.stopPropagation();
  }, { capture: true, passive: true });

  // A click on ``map`` at its pixel (x, y), as Gradio finds the pixel a click is on (scale-down, centred), so that
  // its select event reads that pixel. ``from``, the pixel a key moves from: where a map drawn smaller than its
  // picture cannot be clicked on (x, y) itself, the nearest pixel that can, on the side away from ``from``.
  // Returns the pixel Gradio reads, or null where the map is not a button (no select event).
  function clickMap(map, x, y, from = [x, y]) {
    const button = map.closest("button");
    if (!button) return null;
    const box = map.getBoundingClientRect();
    const scale = Math.min(box.width / map.naturalWidth, box.height / map.naturalHeight, 1);
    const [left, top] = [box.left + (box.width - map.naturalWidth * scale) / 2,
                         box.top + (box.height - map.naturalHeight * scale) / 2];
    const [clientX, clientY] = [clientFor(x, left, scale, map.naturalWidth, from[0]),
                                clientFor(y, top, scale, map.naturalHeight, from[1])];
    button.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true, view: window, clientX, clientY }));
    return [Math.round((clientX - left) / scale), Math.round((clientY - top) / scale)];
  }

  window.segdemoClickMap = clickMap;  // segdemo/small_maps.js: a click on an enlarged map, read where it was

  // The whole CSS pixel at which Gradio reads the map pixel nearest ``pixel`` (it rounds (client - start) / scale):
  // an event's coordinates are whole CSS pixels, which on a map drawn smaller miss some of its pixels by one or more.
  // Of those past ``from`` on the way to ``pixel`` where it is another, so that a key press always moves; and on
  // the map (of ``size`` pixels): at a map's first pixel, the CSS pixel nearest it can be just outside the map.
  function clientFor(pixel, start, scale, size, from = pixel) {
    const read = (client) => Math.round((client - start) / scale);
    const way = Math.sign(pixel - from);
    const near = Math.round(start + pixel * scale);
    const candidates = [near, near - 1, near + 1, near + 2 * way, near + 3 * way]
      .filter((client) => read(client) >= 0 && read(client) < size)
      .filter((client) => way === 0 || Math.sign(read(client) - from) === way);
    return candidates.reduce((best, client) =>
      Math.abs(read(client) - pixel) < Math.abs(read(best) - pixel) ? client : best, candidates[0] ?? near);
  }

  // The keyboard (3. above). Gradio drops a map's select event while the last one is unanswered (and its
  // "always_last" keeps the event but not its pixel), so keys pressed faster than the server answers move a cursor
  // here, and the pixel under it is asked for once the last answer is in: one request at a time, the last one wins.
  const STEPS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const FAR = 8;  // pixels of the picture an arrow moves the ring; with Shift, 1 (or the next a click reaches)
  const PATIENCE_MS = 1200;  // an answer not in by then is taken as lost (or as "nothing there": the server skips)
  const RETRIES = 2;
  const SETTLE_MS = 60;  // after an answer, before the next request: Gradio still counts the last one as pending
  // readout -> { map, cursor: [x, y, width, height], single: whether Shift moved it, axis: 0 across, 1 down,
  //   asked: the cursor last asked for (retries: how many times again), way: the pixels ("x,y") asked for and the
  //   one the keys started from,
  //   sent: the pixel shown when last asked, at: when }
  const keyed = new WeakMap();
  const spot = (pixel) => String(pixel?.slice(0, 2));  // a pixel, whatever the size of the result it is of
  const focusedMap = (event) => {
    const map = event.target.closest?.(".segdemo-map button")?.querySelector("img");
    return map && map.offsetParent !== null && map.complete && map.naturalWidth > 0 ? map : null;
  };
  const readoutOf = (map) => tabOf(map).querySelector(".segdemo-pixel");

  // The keys' state of a readout while it shows a pixel they asked for (or the one they started from); a pixel read
  // otherwise (a click, a new result) lets it go.
  function keysOn(readout) {
    const keys = keyed.get(readout);
    if (keys && keys.way.has(spot(readPixel(readout)))) return keys;
    keyed.delete(readout);
    return null;
  }

  // The pixel a key moves from: the keys' cursor, else the one read where the readout is of this map's result, else
  // near the middle of the map's picture (a map is its picture with a narrower key or colour bar to its right, so
  // the map's middle is on the picture; the first reading gives the picture's size, which then bounds the keys).
  function startingPixel(map, readout) {
    const keys = keysOn(readout);
    if (keys) return keys.cursor;
    const pixel = readPixel(readout);
    if (pixel && map.naturalHeight === pixel[3] && map.naturalWidth >= pixel[2]) return pixel;
    return [Math.floor(map.naturalWidth / 2), Math.floor(map.naturalHeight / 2), map.naturalWidth, map.naturalHeight];
  }

  // Asks for the cursor's pixel where it is not the one shown and no answer is awaited; asks again (RETRIES times at
  // most: a pixel on a map's key reads nothing) where an answer did not come in time, which is what Gradio's
  // dropping a select looks like from here.
  function pump(readout) {
    const keys = keysOn(readout);
    if (!keys) return;
    const shownPixel = readPixel(readout);
    const shown = String(shownPixel);
    if (keys.sent !== null && shown === keys.sent && performance.now() - keys.at < PATIENCE_MS) return;  // awaited
    const lost = keys.sent !== null && shown === keys.sent;
    keys.sent = null;
    if (shownPixel) {  // the picture's size, from the server (keys started from the map's middle had the map's)
      const [, , width, height] = shownPixel;
      keys.cursor = [Math.min(keys.cursor[0], width - 1), Math.min(keys.cursor[1], height - 1), width, height];
    }
    const again = keys.asked === spot(keys.cursor);
    if ((again && !(lost && keys.retries < RETRIES)) || !keys.map.isConnected) return;
    keys.retries = again ? keys.retries + 1 : 0;
    const [width, height] = keys.cursor.slice(2);
    const from = keys.axis === 0 ? [shownPixel?.[0] ?? keys.cursor[0], keys.cursor[1]]  // the moving axis' alone
      : [keys.cursor[0], shownPixel?.[1] ?? keys.cursor[1]];
    const reached = clickMap(keys.map, keys.cursor[0], keys.cursor[1], from);
    if (!reached) return;
    // a map drawn smaller reaches the pixel nearest the cursor, which stays where the keys put it (so that its
    // rounding does not add up over presses), but for the smallest steps (Shift), which go on from the pixel reached
    if (keys.single) keys.cursor = [...reached, width, height];
    keys.asked = spot(keys.cursor);
    keys.way.add(spot(reached));
    [keys.sent, keys.at] = [shown, performance.now()];
    setTimeout(() => pump(readout), PATIENCE_MS + 50);
  }

  document.addEventListener("keydown", (event) => {
    const step = STEPS[event.key];
    if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
    const map = focusedMap(event);
    const readout = map && readoutOf(map);
    if (!readout) return;
    event.preventDefault();  // the page does not scroll under the ring
    const [x, y, width, height] = startingPixel(map, readout);
    const far = event.shiftKey ? 1 : FAR;
    const to = (value, axis, size) => Math.min(Math.max(value + step[axis] * far, 0), size - 1);
    const cursor = [to(x, 0, width), to(y, 1, height), width, height];
    const keys = keysOn(readout) ?? { way: new Set([spot(readPixel(readout))]), sent: null, at: 0, asked: null,
                                      retries: 0 };
    Object.assign(keys, { map, cursor, single: event.shiftKey, axis: step[0] === 0 ? 1 : 0 });
    keyed.set(readout, keys);
    pump(readout);
  }, true);

  // Enter or Space on a map reads the pixel the keys start from: the browser's click has no position (detail 0, at
  // the window's corner), from which Gradio's handler would read nothing
  document.addEventListener("click", (event) => {
    if (!event.isTrusted || event.detail !== 0) return;
    const map = focusedMap(event);
    const readout = map && readoutOf(map);
    if (!readout) return;
    event.stopPropagation();
    const [x, y] = startingPixel(map, readout);
    clickMap(map, x, y);
  }, true);
}
