"""gzip for the responses Gradio sends uncompressed: its page, its configuration and its API's description.

Gradio's own brotli middleware picks what to compress by the file extension
in the path (.html, .js, .css, .json ...), so the routes without one went
out whole: the page itself (360 kB, 48 kB gzipped: benchmarks/results/
first-visit.json; most of it the UI's configuration, the heaviest single
download of a visit), ``/config`` and ``/gradio_api/info``.
This compresses those, and leaves everything with an extension to Gradio
(its scripts keep brotli) and pictures, fonts and the event streams as they
are (Starlette's exclusions).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Receive, Scope, Send


class CompressRoutesWithoutExtension(GZipMiddleware):
    """Starlette's gzip middleware, for requests whose path names no file."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and PurePosixPath(scope.get("path", "")).suffix:
            await self.app(scope, receive, send)  # a file: Gradio's brotli middleware's, or nothing to gain
            return
        await super().__call__(scope, receive, send)


def compression_middleware() -> list[Middleware]:
    """What ``launch`` passes to Gradio's FastAPI app (``app_kwargs={"middleware": ...}``)."""
    return [Middleware(CompressRoutesWithoutExtension, minimum_size=1024, compresslevel=6)]
