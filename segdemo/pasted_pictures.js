() => {
  // A picture pasted with Ctrl-V (Cmd-V) becomes the picture of the tab shown, as an upload of it does. Gradio 6.31's
  // picture box takes the clipboard only through its "Paste from clipboard" button (navigator.clipboard.read):
  // a visitor who copied a picture on another site ("Copy image") and pressed Ctrl-V on the page saw nothing
  // happen. The pasted file is given to the box's own file input, so Gradio uploads it and fires the same events as
  // for a file chosen (segdemo/stale_results.js greys out the results of the last picture, the other tab takes it).
  // A paste with no picture in it (text into the seed box) is left alone.
  // Run once by Gradio when the page loads (launch(js=...)).
  const boxes = ["#segment-picture", "#compare-picture"];

  // the box pasted into: the one holding the focus, else the one on the tab shown (null on the Models tab)
  function target(event) {
    const focused = event.target instanceof Element ? event.target.closest(boxes.join(",")) : null;
    if (focused) return focused;
    return boxes.map((selector) => document.querySelector(selector))
      .find((box) => box && box.getClientRects().length > 0) ?? null;
  }

  document.addEventListener("paste", (event) => {
    const picture = [...(event.clipboardData?.files ?? [])].find((file) => file.type.startsWith("image/"));
    const box = picture && target(event);
    if (!box) return;
    event.preventDefault();
    const files = new DataTransfer();
    files.items.add(new File([picture], picture.name || `pasted.${picture.type.slice(6)}`, { type: picture.type }));
    const input = box.querySelector("input[type=file]");
    if (input) {
      input.files = files.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    } else {  // the box shows its clipboard button's area, which has no file input: dropped, as a file dragged in
      box.querySelector("div.upload-container")?.dispatchEvent(
        new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
    }
  });
}
