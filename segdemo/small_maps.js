() => {
  // A small picture's maps are drawn enlarged, each of its pixels a square of whole CSS pixels, and a click on one
  // reads the pixel under the pointer. Gradio draws a picture no larger than itself: a 24x18 upload's maps were
  // 90x18 px in 435 px blocks, their keys unreadable and the pixel ring as large as the map; a 100x75 upload's were
  // 166x75 in a phone's 326 px. Each map is shown at the largest whole multiple of its size (2x and up) that fits
  // its block's width and 80% of the window's height, as the CSS caps larger maps, or, where not even 2x fits, as
  // wide as its block if that is a quarter larger or more; its pixels drawn as squares, not blurred (all of a
  // result's maps have one size, so they stay at one scale). Gradio reads a click as if no picture were drawn larger than itself (its scale is capped at 1), so a
  // click on an enlarged map is passed on as the click Gradio reads as the pixel under the pointer
  // (window.segdemoClickMap, segdemo/pixel_readout.js). The rings and the keys follow the drawn size already.
  // Run once by Gradio when the page loads (launch(js=...)).
  const MAPS = ".segdemo-map img";
  const ENLARGED = "segdemo-enlarged";
  const MIN_TIMES = 1.25;  // a map that would grow by less stays as Gradio draws it

  function fit(img) {
    const room = img.closest(".image-container");
    if (!room || !img.complete || !img.naturalWidth || img.offsetParent === null) return;
    const tall = Math.min(0.8 * window.innerHeight, 960);
    const room_for = Math.min(room.clientWidth / img.naturalWidth, tall / img.naturalHeight);
    // whole multiples from 2x; below that, up to the block's width where that is a quarter larger or more
    const times = room_for >= 2 ? Math.floor(room_for) : room_for >= MIN_TIMES ? room_for : 1;
    const enlarged = times > 1;
    const [width, height] = enlarged ? [`${Math.floor(img.naturalWidth * times)}px`,
                                        `${Math.floor(img.naturalWidth * times) * img.naturalHeight / img.naturalWidth}px`]
      : ["", ""];
    if (img.style.width !== width) img.style.width = width;
    if (img.style.height !== height) img.style.height = height;
    img.classList.toggle(ENLARGED, enlarged);
  }

  let scheduled = false;
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(() => { scheduled = false; document.querySelectorAll(MAPS).forEach(fit); });
    }
  };
  document.addEventListener("load", (event) => { if (event.target.matches?.(MAPS)) schedule(); }, true);
  window.addEventListener("resize", schedule);
  // a map shown again (a tab drawn anew, a hidden map shown) or given another picture
  new MutationObserver(schedule).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["src", "hidden"],
  });
  schedule();

  // A pointer's click on an enlarged map: read where the pointer is, not where Gradio would.
  document.addEventListener("click", (event) => {
    if (!event.isTrusted || event.detail === 0) return;  // a key's click: segdemo/pixel_readout.js reads it
    const map = event.target.closest?.(".segdemo-map button")?.querySelector(`img.${ENLARGED}`);
    if (!map || !window.segdemoClickMap) return;
    const box = map.getBoundingClientRect();
    const x = Math.floor((event.clientX - box.left) * map.naturalWidth / box.width);
    const y = Math.floor((event.clientY - box.top) * map.naturalHeight / box.height);
    if (x < 0 || y < 0 || x >= map.naturalWidth || y >= map.naturalHeight) return;
    event.stopPropagation();  // Gradio's own reading of it would be of another pixel
    window.segdemoClickMap(map, x, y);
  }, true);
}
