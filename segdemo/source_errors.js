() => {
  // Why the webcam or the clipboard gave no picture, said under the picture box. Gradio 6.31's box showed nothing
  // when the browser refused the camera, found none, or refused to read the clipboard (an uncaught error, in the
  // console only), nor when the clipboard held no picture: the visitor clicked and nothing happened. The page's
  // calls to the camera and the clipboard are watched here, as they are made, and their failure is put into words
  // (role="alert": a screen reader says it). The line goes when the visitor tries again or a picture arrives.
  // Run once by Gradio when the page loads (launch(js=...)).
  const boxes = ["#segment-picture", "#compare-picture"];
  const CAMERA = {
    NotAllowedError: "The browser did not allow the camera. Allow it for this page (the camera icon in the address "
      + "bar), or upload or paste a picture.",
    NotFoundError: "No camera was found. Upload or paste a picture instead.",
    OverconstrainedError: "No camera was found. Upload or paste a picture instead.",
    NotReadableError: "The camera could not be started: another app may be using it.",
  };
  const CLIPBOARD = {
    NotAllowedError: "The browser did not allow reading the clipboard. Press Ctrl-V (\u2318-V on a Mac) on the page "
      + "instead, or upload the picture.",
    empty: "The clipboard holds no picture. Copy one first (right-click it, then Copy image), or upload it.",
  };

  // the box the visitor is using: the one holding the focus (its button was just pressed), else the tab's shown
  function box() {
    const focused = document.activeElement?.closest?.(boxes.join(","));
    return focused ?? boxes.map((selector) => document.querySelector(selector))
      .find((found) => found && found.getClientRects().length > 0) ?? null;
  }

  function clear() {
    for (const note of document.querySelectorAll(".segdemo-source-error")) note.remove();
  }

  function tell(words) {
    clear();
    const where = box();
    if (!where) return;
    const note = document.createElement("p");
    note.className = "segdemo-source-error";
    note.setAttribute("role", "alert");
    note.textContent = words;
    where.insertAdjacentElement("afterend", note);
  }

  const media = navigator.mediaDevices;
  if (media?.getUserMedia) {
    const open = media.getUserMedia.bind(media);
    media.getUserMedia = (constraints) => {
      clear();
      return open(constraints).catch((error) => {
        tell(CAMERA[error?.name] ?? `The camera could not be started (${error?.message ?? error}).`);
        throw error;
      });
    };
  }
  const clipboard = navigator.clipboard;
  if (clipboard?.read) {
    const read = clipboard.read.bind(clipboard);
    clipboard.read = () => {
      clear();
      return read().then((items) => {
        if (!items.some((item) => item.types.some((type) => type.startsWith("image/")))) tell(CLIPBOARD.empty);
        return items;
      }, (error) => {
        tell(CLIPBOARD[error?.name] ?? `The clipboard could not be read (${error?.message ?? error}).`);
        throw error;
      });
    };
  }
  // a picture chosen, dropped or pasted (segdemo/pasted_pictures.js) another way
  for (const way of ["change", "drop", "paste"]) {
    document.addEventListener(way, (event) => {
      if (way === "paste" || (event.target instanceof Element && event.target.closest(boxes.join(",")))) clear();
    }, true);
  }
}
