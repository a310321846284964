() => {
  // A pixel read where its readout is out of sight is shown docked at the window's foot (or top, away from the map
  // clicked). The Compare tab's readout sits above its ten maps: a tap on the SegNet error map of a phone's page
  // put the reading 2,200 px above the screen, with nothing to say it had come. The dock is a copy of the readout
  // (hidden from screen readers, which hear the readout itself: segdemo/pixel_readout.js makes it a live region);
  // it goes when the readout comes into view, when the visitor closes it, and when the readout no longer shows a
  // pixel (a new result). Run once by Gradio when the page loads (launch(js=...)).
  const READOUT = ".segdemo-pixel";
  const ASKED_WITHIN_MS = 15000;  // a reading that follows a click or a key on a map; not a new result's empty one
  let asked = 0;  // when the visitor last clicked a map or pressed a key on one
  let closedFor = null;  // the reading the visitor closed the dock on: it stays closed until another comes
  let clicked = null;  // the map clicked last, and how far down it the click was (CSS px)

  const dock = document.createElement("div");
  dock.className = "segdemo-readout-dock";
  dock.setAttribute("aria-hidden", "true");
  dock.hidden = true;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "segdemo-readout-dock-close";
  close.textContent = "\u00d7";
  close.tabIndex = -1;  // the dock is a copy for the eyes; the keyboard's reading is the readout's
  const body = document.createElement("div");
  body.className = "segdemo-readout-dock-body prose";
  dock.append(close, body);
  // inside Gradio's content, where the Space's CSS (which Gradio scopes to ".gradio-container .contain") reaches
  (document.querySelector(".gradio-container .contain") ?? document.body).appendChild(dock);

  const textOf = (readout) => readout.querySelector("[data-testid=markdown]") ?? readout;
  const reading = (readout) => {
    const text = textOf(readout).innerText;
    return text.includes("At pixel") ? text : null;
  };
  // the readout of the tab shown, if any
  const shownReadout = () => [...document.querySelectorAll(READOUT)].find((readout) => readout.offsetParent !== null);
  // in view: its first line and its two likeliest classes show (its whole, where it has no table). On a phone, a
  // readout at the screen's foot showed its first line and half a row of 360 px, and counted as in view: no dock.
  const inView = (element) => {
    if (document.querySelector(".fullscreen:not(:has(.segdemo-pixel))")) return false;  // a map in full screen hides it
    const box = element.getBoundingClientRect();
    const rows = textOf(element).querySelectorAll("tr");  // its header, 1st, 2nd, ...
    const end = rows.length > 2 ? rows[2].getBoundingClientRect().bottom : box.bottom;
    return box.top >= -1 && end <= window.innerHeight + 1;
  };

  function update() {
    const readout = shownReadout();
    const text = readout && reading(readout);
    const wanted = text && text !== closedFor && performance.now() - asked < ASKED_WITHIN_MS && !inView(readout);
    if (!wanted) {
      if (!dock.hidden && (!text || inView(readout) || text === closedFor)) dock.hidden = true;
      if (!text) closedFor = null;
      if (dock.hidden) return;
    }
    // under the app, where it is narrower than the window (a web component in a blog's column): docked across
    // the window, the reading lay over the blog's margin, away from the maps it is of
    const app = (dock.closest(".gradio-container") ?? document.documentElement).getBoundingClientRect();
    dock.style.setProperty("--segdemo-app-left", `${Math.max(0, app.left)}px`);
    dock.style.setProperty("--segdemo-app-right", `${Math.max(0, document.documentElement.clientWidth - app.right)}px`);
    const html = textOf(readout).innerHTML;
    if (body.innerHTML !== html) body.innerHTML = html;
    // greyed out, and said to be, as the readout is while its tab's results are of another picture or settings
    const tab = readout.id.replace(/-pixel$/, "");
    dock.classList.toggle("segdemo-readout-dock-stale", !!window.segdemoResults?.stale(tab));
    dock.classList.toggle("segdemo-readout-dock-resettled", window.segdemoResults?.why(tab) === "settings");
    keepClear();
    dock.hidden = false;
  }

  // The dock keeps clear of the point clicked: at the window's top while that point is in its lower half, as the
  // page scrolls too. Placed once, at the click, the dock at the top covered the overlay a phone's visitor had read
  // and then scrolled up to drag its divider.
  function keepClear() {
    if (!clicked?.map.isConnected) return;
    const y = clicked.map.getBoundingClientRect().top + clicked.offset;
    dock.classList.toggle("segdemo-readout-dock-top", y > window.innerHeight / 2);
  }

  let scheduled = false;
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => { scheduled = false; update(); });
    }
  };
  close.addEventListener("click", () => {
    const readout = shownReadout();
    closedFor = readout && reading(readout);
    dock.hidden = true;
  });
  const onMap = (event) => event.target.closest?.(".segdemo-map, .segdemo-slider");
  document.addEventListener("click", (event) => {
    schedule();  // a tab changed, perhaps: its readout is another
    const map = onMap(event);
    if (!map) return;
    asked = performance.now();
    if (event.clientY > 0) clicked = { map, offset: event.clientY - map.getBoundingClientRect().top };
  }, true);
  document.addEventListener("keydown", (event) => { if (onMap(event)) asked = performance.now(); }, true);
  // a readout's own changes alone (the rest of the page changes all through a run: its timers)
  const inReadout = (node) => (node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement)?.closest(READOUT);
  new MutationObserver((records) => {
    if (records.some((record) => inReadout(record.target))) schedule();
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
  window.addEventListener("scroll", schedule, { passive: true, capture: true });
  window.addEventListener("resize", schedule);
  window.addEventListener("segdemo-stale", schedule);  // a tab's results greyed out, or shown again
}
