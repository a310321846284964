() => {
  // The divider between the picture and its overlay (the Segment tab's slider) moves from the keyboard. Gradio's
  // ImageSlider moves it by the mouse alone: its divider is no control (role "none", not reachable with Tab), so a
  // visitor without a mouse saw the overlay on half the picture only. Here the divider is a slider for the keyboard
  // and a screen reader: Tab reaches it, the arrow keys move it by a twentieth of the picture (with Shift, a
  // hundredth), Home and End as far as Gradio lets it go (8% from either edge). It is moved as the mouse moves it (a press, a move, a release), so
  // Gradio's own drag does the rest. Run once by Gradio when the page loads (launch(js=...)).
  const HANDLE = ".segdemo-slider [data-testid=slider]";
  const STEPS = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5 };
  const LABEL = "Divider between the picture (left) and its overlay (right)";

  // the share of the picture left of the divider, in percent, from the overlay's clip (Gradio's: inset(0 0 0 X%))
  function shareOf(handle) {
    const overlay = handle.closest(".segdemo-slider")?.querySelectorAll("img")[1];
    const found = overlay?.style.clipPath.match(/inset\([^)]*?\s([\d.]+)%\)/);
    return found ? Number(found[1]) : 50;
  }

  function label() {
    for (const handle of document.querySelectorAll(HANDLE)) {
      const share = String(Math.round(shareOf(handle)));
      // its range is where Gradio lets it go (a screen reader was told 0-100, and Home stopped at 8)
      const wanted = { tabindex: "0", role: "slider", "aria-label": LABEL, "aria-valuemin": "8", "aria-valuemax": "92",
                       "aria-valuenow": share, "aria-valuetext": `${share}% picture, the rest overlay`,
                       "aria-orientation": "horizontal" };
      for (const [name, value] of Object.entries(wanted)) {
        if (handle.getAttribute(name) !== value) handle.setAttribute(name, value);
      }
    }
  }

  function moveTo(handle, share) {
    const picture = handle.closest(".segdemo-slider")?.querySelector("img");
    if (!picture) return;
    const box = picture.getBoundingClientRect();
    const from = handle.getBoundingClientRect();
    const [x, y] = [from.left + from.width / 2, from.top + from.height / 2];
    const to = box.left + box.width * Math.min(Math.max(share, 0), 100) / 100;
    const mouse = (type, clientX, target) => target.dispatchEvent(new MouseEvent(type, {
      bubbles: true, cancelable: true, view: window, clientX, clientY: y, button: 0, buttons: type === "mouseup" ? 0 : 1,
    }));
    mouse("mousedown", x, handle);
    mouse("mousemove", to, window);
    mouse("mouseup", to, window);
  }

  document.addEventListener("keydown", (event) => {
    const handle = event.target.closest?.(HANDLE);
    if (!handle || event.altKey || event.ctrlKey || event.metaKey) return;
    const share = shareOf(handle);
    let next = null;
    if (event.key in STEPS) next = share + (event.shiftKey ? Math.sign(STEPS[event.key]) : STEPS[event.key]);
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = 100;
    if (next === null) return;
    event.preventDefault();  // the page does not scroll
    moveTo(handle, next);
  }, true);

  // what the divider says follows its place (the overlay's clip), and a new slider is labelled as it comes
  new MutationObserver(label).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["style", "role"],
  });
  label();
}
