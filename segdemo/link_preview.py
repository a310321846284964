"""What a chat app or a social site shows for a link to the app: its title, a sentence and a picture of both networks.

Gradio's page template opens with its own Open Graph and Twitter tags, so a link to the Space's own address
(``owner-name.hf.space``) or to a server of one's own previewed as Gradio's: the title "Gradio", "Click to try out
the app!", Gradio's header picture, and ``og:url`` set to the unfilled "{url}" and then to "https://gradio.app/",
which a site that follows ``og:url`` takes as the page's real address. The app's title came only in a second set of
tags, after them, with an empty description and an empty picture. ``LinkPreviews`` replaces both sets with one of
the app's own, and serves the picture they name (``CARD``, made by ``python -m segdemo.link_preview``), and the
page's icon (``ICON``, made with it; Gradio's logo was the tab's).

Usage, to make the picture and the icon again (after new weights):
``python -m segdemo.link_preview [--out docs/link-preview.jpg] [--icon docs/favicon.png]``
"""

from __future__ import annotations

import argparse
import html
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parent.parent
CARD = ROOT / "docs" / "link-preview.jpg"
CARD_ROUTE = "/link-preview.jpg"  # under the app's root, as its page is
CARD_SIZE = (1200, 630)  # what Open Graph and Twitter's large card show whole (1.91:1)
CARD_EXAMPLE = ROOT / "examples" / "camvid_0006R0_f03570.jpg"  # the README's frame: a sign FCN calls a pedestrian
# The page's icon (the browser's tab, a bookmark, the Space installed as an app): FCN's class map of a bundled frame,
# the road ahead and a car on it, which still reads as a street in CamVid's colours at a tab's 16 pixels
ICON = ROOT / "docs" / "favicon.png"
ICON_EXAMPLE = ROOT / "examples" / "camvid_0006R0_f01290.jpg"
ICON_SIZE = 256  # Gradio scales it for an installed app's 192 and 512 px icons
DESCRIPTION = ("Road scenes segmented into CamVid's 11 classes by FCN-8s and a Bayesian SegNet, trained from scratch: "
               "upload a street picture to see each network's colour overlay, its calibrated confidence and where it "
               "is unsure about boundaries.")
SUBTITLE = "Road scenes (CamVid): each pixel's class, how sure each network is, and where it is unsure"
CARD_ALT = "A CamVid street scene segmented by FCN-8s (left) and the Bayesian SegNet (right), each class in its colour"

# Gradio's preview tags, in either of its forms (one line, or an attribute to a line)
_GRADIO_TAG = re.compile(r'[ \t]*<meta\s[^>]*?(?:property="og:|name="twitter:)[^>]*>[ \t]*\n?')
_CHARSET = re.compile(r"<meta\s+charset=[^>]*>[ \t]*\n?", re.I)
# the app's public address, as Gradio worked it out for the page (proxies' headers, GRADIO_ROOT_PATH) and put in it
_PAGE_ROOT = re.compile(r'"root":\s*"(https?://[^"\\]*)"')


def preview_tags(title: str, description: str, root: str | None, picture: bool = True) -> str:
    """The page's own preview tags; with its public address ``root`` (no trailing slash), its URL, and its picture
    where there is one to serve."""
    tags = [("og:type", "website"), ("og:title", title), ("og:description", description),
            ("twitter:card", "summary_large_image"), ("twitter:title", title), ("twitter:description", description)]
    if root is not None:
        tags.append(("og:url", root + "/"))
    if root is not None and picture:
        card = root + CARD_ROUTE
        tags += [("og:image", card), ("og:image:type", "image/jpeg"),
                 ("og:image:width", str(CARD_SIZE[0])), ("og:image:height", str(CARD_SIZE[1])),
                 ("og:image:alt", CARD_ALT), ("twitter:image", card), ("twitter:image:alt", CARD_ALT)]
    lines = [f"<title>{html.escape(title, quote=False)}</title>",
             f'<meta name="description" content="{_attribute(description)}" />']
    for name, value in tags:
        attribute = "name" if name.startswith("twitter:") else "property"
        lines.append(f'<meta {attribute}="{name}" content="{_attribute(value)}" />')
    return "".join(f"\t\t{line}\n" for line in lines)


def _attribute(value: str) -> str:
    """``value`` inside double quotes: its apostrophes stay as they are, for previews that show the text raw."""
    return html.escape(value, quote=False).replace('"', "&quot;")


def rewrite_page(page: str, title: str, description: str = DESCRIPTION, picture: bool = True) -> str:
    """Gradio's page with its preview tags replaced by the app's. A page without a ``<head>``, or with a ``<title>``
    of its own there, is not Gradio's, and is left as it is."""
    # only the tags before the first <script> are the template's; the scripts hold the page's configuration
    scripts = page.find("<script")
    scripts = len(page) if scripts < 0 else scripts
    # the app's tags go after the character set's, which must come within the page's first 1024 bytes
    head = _CHARSET.search(page, 0, scripts) or re.search(r"<head>[ \t]*\n?", page[:scripts])
    if head is None or "<title>" in page[:scripts]:
        return page
    root = _PAGE_ROOT.search(page)
    tags = preview_tags(title, description, root.group(1).rstrip("/") if root else None, picture)
    kept = _GRADIO_TAG.sub("", page[head.end():scripts])
    return page[:head.end()] + tags + kept + page[scripts:]


class LinkPreviews:
    """ASGI middleware: the page's preview tags rewritten (``rewrite_page``), and the preview's picture served.

    It sits inside the page's gzip (``segdemo.compression``), so that it reads the page as Gradio wrote it."""

    def __init__(self, app: ASGIApp, title: str, description: str = DESCRIPTION, card: Path = CARD) -> None:
        self.app, self.title, self.description, self.card = app, title, description, card

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if _route(scope) == CARD_ROUTE and self.card.is_file():
            response = FileResponse(self.card, media_type="image/jpeg",
                                    headers={"Cache-Control": "public, max-age=3600"})
            await response(scope, receive, send)
            return
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        rewriter = _PageRewriter(send, self.title, self.description, self.card.is_file())
        await self.app(scope, receive, rewriter.send)


def link_preview_middleware(title: str) -> Middleware:
    """What ``launch`` passes to Gradio's FastAPI app after the gzip middleware (so that it runs inside it)."""
    return Middleware(LinkPreviews, title=title)


class _PageRewriter:
    """A ``send`` that holds back an HTML answer until it is whole, then sends it with the app's preview tags."""

    def __init__(self, send: Send, title: str, description: str, picture: bool) -> None:
        self.downstream, self.title, self.description, self.picture = send, title, description, picture
        self.start: Message | None = None
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message["headers"])
            if headers.get("content-type", "").startswith("text/html") and "content-encoding" not in headers:
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(self.chunks)
            try:
                body = rewrite_page(body.decode("utf-8"), self.title, self.description, self.picture).encode("utf-8")
            except UnicodeDecodeError:  # not Gradio's page (which is UTF-8): sent as it came
                pass
            headers = MutableHeaders(raw=list(self.start["headers"]))
            headers["content-length"] = str(len(body))
            await self.downstream({**self.start, "headers": headers.raw})
            await self.downstream({"type": "http.response.body", "body": body, "more_body": False})
            return
        await self.downstream(message)


def _route(scope: Scope) -> str:
    """The request's path under the app's root (a server mounted at a path may be given the whole path)."""
    path, root_path = scope.get("path", ""), scope.get("root_path", "").rstrip("/")
    return path[len(root_path):] if root_path and path.startswith(root_path + "/") else path


def make_card(out: Path = CARD, example: Path = CARD_EXAMPLE) -> Image.Image:
    """The preview's picture: the bundled frame segmented by each shipped network as served, side by side, named."""
    from .classes import CAMVID_CLASSES, CAMVID_PALETTE
    from .inference import predict
    from .visualize import blend, overlay_layer
    from .checkpoints import load_checkpoint

    width, height = CARD_SIZE
    card = Image.new("RGB", CARD_SIZE, (17, 24, 39))
    draw = ImageDraw.Draw(card)
    draw.text((40, 28), "FCN vs SegNet", font=_font(54), fill=(255, 255, 255))
    draw.text((40, 98), SUBTITLE, font=_fitted(draw, SUBTITLE, width - 80, 28, bold=False), fill=(199, 210, 254))
    panel_w = (width - 3 * 40) // 2
    panel_h = panel_w * 3 // 4
    top = height - panel_h - 64
    with Image.open(example) as picture:
        picture = picture.convert("RGB")
    networks = (("fcn8s_lite", "FCN-8s (lite)"), ("bayesian_segnet_lite", "Bayesian SegNet (lite)"))
    for i, (name, shown) in enumerate(networks):
        result = predict(picture, load_checkpoint(ROOT / "weights" / name))
        overlay = blend(result.image, overlay_layer(result.labels, CAMVID_PALETTE, class_names=CAMVID_CLASSES,
                                                    keyed=False))
        left = 40 + i * (panel_w + 40)
        card.paste(overlay.resize((panel_w, panel_h), Image.Resampling.LANCZOS), (left, top))
        draw.text((left, top + panel_h + 14), shown, font=_font(30), fill=(255, 255, 255))
    out.parent.mkdir(parents=True, exist_ok=True)
    card.save(out, quality=85, optimize=True)
    return card


def make_icon(out: Path = ICON, example: Path = ICON_EXAMPLE) -> Image.Image:
    """The page's icon: the shipped FCN's class map of ``example``, its middle square, each pixel a class colour
    (a palette PNG of a few kB)."""
    from .checkpoints import load_checkpoint
    from .classes import CAMVID_PALETTE
    from .inference import predict

    with Image.open(example) as picture:
        picture = picture.convert("RGB")
    classes = predict(picture, load_checkpoint(ROOT / "weights" / "fcn8s_lite")).labels
    labels = Image.fromarray(classes.cpu().numpy().astype("uint8"), mode="P")
    labels.putpalette([channel for colour in CAMVID_PALETTE for channel in colour])
    side = min(labels.size)
    left, top = (labels.width - side) // 2, (labels.height - side) // 2
    icon = labels.crop((left, top, left + side, top + side)).resize((ICON_SIZE, ICON_SIZE), Image.Resampling.NEAREST)
    out.parent.mkdir(parents=True, exist_ok=True)
    icon.save(out, optimize=True)
    return icon


def _font(size: int, bold: bool = True) -> ImageFont.ImageFont:
    try:  # the DejaVu Sans that matplotlib ships, the plots' own
        from matplotlib import font_manager

        return ImageFont.truetype(font_manager.findfont("DejaVu Sans" + (":bold" if bold else "")), size)
    except (ImportError, OSError):  # any font will do
        return ImageFont.load_default(size=size)


def _fitted(draw: ImageDraw.ImageDraw, text: str, width: int, size: int, bold: bool) -> ImageFont.ImageFont:
    """The font at ``size``, or smaller until ``text`` fits in ``width``."""
    while size > 10 and draw.textlength(text, font=_font(size, bold)) > width:
        size -= 1
    return _font(size, bold)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.link_preview", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=CARD, help=f"where to write it (default {CARD.relative_to(ROOT)})")
    parser.add_argument("--icon", type=Path, default=ICON,
                        help=f"where to write the page's icon (default {ICON.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    make_card(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB, {CARD_SIZE[0]}x{CARD_SIZE[1]})")
    make_icon(args.icon)
    print(f"wrote {args.icon} ({args.icon.stat().st_size / 1e3:.0f} kB, {ICON_SIZE}x{ICON_SIZE})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
