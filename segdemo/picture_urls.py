"""Pictures given as a URL (``handle_file("https://...")`` in the API), fetched with a size cap and a time limit.

Gradio fetches such a URL itself before any of our code runs, and reads the
whole answer into memory with no limit: a link to a multi-gigabyte file, or
to an endless stream, would exhaust a Space's memory, and any failure came
back as "the upstream Gradio app has raised an exception". Here the answer is
streamed to disk and cut off at the upload limit (``images.MAX_FILE_BYTES``)
and after ``FETCH_SECONDS``, and each failure is a :class:`PictureURLError`
whose message says what went wrong. Gradio's rule against server-side
request forgery is kept: a host must resolve to a public address (checked
again at every redirect, and the connection made to the address checked,
with ``safehttpx``, the library Gradio uses for it), except the Hugging Face
hosts Gradio trusts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
import socket
import uuid
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import ParseResult, unquote, urljoin, urlparse

import anyio
import httpx
import safehttpx

from .internals import optional


def _own_hash_url(url: str) -> str:
    """A cache folder's name for ``url``, unguessable as Gradio's is (a seed of this process's own)."""
    return hashlib.sha256(_SEED + url.encode("utf-8")).hexdigest()


def _own_safe_name(name: str) -> str:
    """``name`` without the characters a file's name may not hold, at most 200 bytes of it (Gradio's rule, simpler)."""
    return re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f`$!{}]', "", name).rstrip(" .").encode("utf-8")[:200].decode(
        "utf-8", "ignore")


_SEED = secrets.token_bytes(16)
# Gradio's own (not documented), looked up and logged once where they moved: what is lost is said beside each.
# No whitelist is the stricter rule: a Hugging Face host is then fetched only where it resolves to a public address.
PUBLIC_HOSTNAME_WHITELIST = optional("gradio.processing_utils", "PUBLIC_HOSTNAME_WHITELIST", [],
                                     "Hugging Face hosts are fetched only where they resolve to a public address")
hash_url = optional("gradio.processing_utils", "hash_url", _own_hash_url,
                    "a fetched picture's folder is named by segdemo's own seeded hash")
strip_invalid_filename_characters = optional("gradio_client.utils", "strip_invalid_filename_characters",
                                             _own_safe_name, "a fetched picture's name is cleaned by segdemo's rule")

FETCH_SECONDS = 30.0  # the whole fetch, redirects included: a visitor waits for it before the network runs
MAX_REDIRECTS = 10
CHUNK_BYTES = 1 << 16
# Pictures are compressed already: asked for as they are, so that no answer inflates in memory (a gzip "bomb" of
# 1 MB inflates to 1 GB, and httpx inflates each piece it receives whole: +258 MB of peak memory, measured)
IDENTITY = {"Accept-Encoding": "identity"}
INFLATABLE = ("gzip", "x-gzip", "deflate")

# httpx logs every request at INFO with its whole URL, the password and the query (which may hold a token)
# included: a visitor's link would be copied into the server's log, the Space's Logs tab. Its warnings stay.
logging.getLogger("httpx").setLevel(logging.WARNING)
log = logging.getLogger(__name__)


# A URL's scheme (RFC 3986: a letter, then letters, digits, "+", "-" or "."; in any case) and its colon; two
# characters at least, so that a Windows drive ("C:\\...") is no scheme
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
FETCHED_SCHEMES = ("http", "https")


class PictureURLError(Exception):
    """A picture's URL that could not be fetched; the message can be shown to the visitor as it is."""


def picture_url(text: str) -> str | None:
    """``text`` as the http(s) URL to fetch (its scheme in lower case, the spaces around it gone); None where it
    names no URL (a file's path); a PictureURLError for a URL of another scheme, which is never fetched.

    Gradio takes text that starts with "http://" or "https://", as written, for a URL, and any other for a file on
    the server: "HTTPS://...", " https://..." (a space pasted with it) and "ftp://..." were all refused as a file
    the call may not read. A scheme is case-insensitive (RFC 3986, 3.1).
    """
    stripped = text.strip()
    scheme = SCHEME.match(stripped)
    if scheme is None:
        return None
    name = scheme.group(1).lower()
    if name not in FETCHED_SCHEMES:
        raise PictureURLError(_other_scheme(name))
    return name + stripped[len(name):]


def served_here(url: str, cache: str | Path) -> str | None:
    """The file in ``cache`` that ``url`` names through a Gradio server's file route (``.../gradio_api/file=PATH``),
    where it is there; None for any other URL.

    An agent with a picture on its own disk uploads it (Gradio's ``gradio upload-mcp``) and sends the app the URL
    the upload answers, which, for an app on one's own machine, is on 127.0.0.1: refused, as pictures are fetched
    from public addresses only. Such a file is used where it is; it is no more than a client may send by its path
    (an upload's, in the cache), whatever the URL's host: Gradio names an upload's folder by its bytes' hash.
    """
    parsed = urlparse(url)
    _, found, path = parsed.path.partition("/gradio_api/file=")
    if not found or not path:
        return None
    local = Path(os.path.realpath(unquote(path)))
    root = Path(os.path.realpath(cache))
    return str(local) if root in local.parents and local.is_file() else None


def _other_scheme(name: str) -> str:
    """Why a URL of scheme ``name`` is not fetched, and what to send instead."""
    instead = ('send a data: URL as "url", with "path": null' if name == "data" else
               "send the file itself (gradio_client: handle_file(path); over HTTP, POST it to /gradio_api/upload "
               "first)")
    return f"Pictures are fetched over http and https only, not {name}: URLs: {instead}."


async def fetch_picture(
    url: str, folder: str | Path, max_bytes: int, seconds: float = FETCH_SECONDS, private_hosts: bool = False
) -> str:
    """Download ``url`` into ``folder`` (a folder of its own, named by the URL's hash); the file's path.

    ``private_hosts`` lets a host resolve to a private or loopback address: for tests against a local server only.
    """
    try:
        return await asyncio.wait_for(_fetch(url, Path(folder), max_bytes, private_hosts), seconds)
    except asyncio.TimeoutError:
        raise PictureURLError(
            f"Fetching the picture at {shown_url(url)} took longer than {seconds:g} s: upload the file instead."
        ) from None
    except PictureURLError:
        raise
    except Exception as error:  # noqa: BLE001 - a visitor's URL can fail in ways no list foresees
        # (a port out of range ends in anyio's ExceptionGroup, a control character in httpx's InvalidURL)
        log.info("fetching a picture's URL failed: %s", type(error).__name__)
        raise PictureURLError(
            f"Could not fetch the picture at {shown_url(url)}: check the link, or upload the file instead."
        ) from None


async def _fetch(url: str, folder: Path, max_bytes: int, private_hosts: bool) -> str:
    target = folder / hash_url(url)
    name = strip_invalid_filename_characters(Path(_parsed(url).path.rstrip("/")).name).lstrip(".") or "picture"
    for _ in range(MAX_REDIRECTS + 1):
        transport = await _transport_for(url, private_hosts)
        try:
            async with (httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0)) as client,
                        client.stream("GET", url, follow_redirects=False, headers=IDENTITY) as response):
                if response.has_redirect_location:
                    try:
                        url = urljoin(str(response.url), response.headers["Location"])
                    except ValueError:
                        raise PictureURLError(
                            f"The server at {shown_url(url)} redirected to an address that is not a valid URL."
                        ) from None
                    continue
                _check_answer(url, response, max_bytes)
                return await _save(url, response, target, name, max_bytes)
        except httpx.TimeoutException:
            raise PictureURLError(f"The server at {shown_url(url)} stopped answering: upload the file instead.") from None
        except httpx.HTTPError as error:
            raise PictureURLError(
                f"Could not fetch the picture at {shown_url(url)} ({type(error).__name__}): check the link, or upload "
                "the file instead."
            ) from None
    raise PictureURLError(f"The picture's URL redirected more than {MAX_REDIRECTS} times: give the file's own URL.")


def _parsed(url: str) -> ParseResult:
    """``url`` split into its parts, or a PictureURLError where it cannot be (``http://[bad/``, a port of letters
    or past 65535): urlparse's ValueError reached the visitor as Gradio's bare "error"."""
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - read for its check
    except ValueError:
        raise PictureURLError(f"{shown_url(url)} is not a valid URL: check the link.") from None
    return parsed


async def _transport_for(url: str, private_hosts: bool) -> httpx.AsyncBaseTransport | None:
    """The transport that connects to a checked public address of the URL's host (None: any address will do)."""
    parsed = _parsed(url)
    if parsed.scheme not in FETCHED_SCHEMES:
        raise PictureURLError(_other_scheme(parsed.scheme) if parsed.scheme else
                              f"{shown_url(url)} is not a URL with a scheme (https://...): check the link.")
    host = parsed.hostname
    if not host:
        raise PictureURLError(f"{shown_url(url)} names no server to fetch the picture from.")
    try:
        await asyncio.get_running_loop().getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        raise PictureURLError(f"Could not find the server {host!r} of the picture's URL: check the link.") from None
    if private_hosts or safehttpx.matches_domain_whitelist(host, PUBLIC_HOSTNAME_WHITELIST):
        return None
    try:
        address = await safehttpx.async_validate_url(host)
    except ValueError:
        raise PictureURLError(
            f"{host!r} is a private or local address: pictures are fetched from public addresses only."
        ) from None
    return safehttpx.AsyncSecureTransport(address)


def _check_answer(url: str, response: httpx.Response, max_bytes: int) -> None:
    if response.status_code != 200:
        raise PictureURLError(
            f"The server at {shown_url(url)} answered {response.status_code} {response.reason_phrase}: "
            "check the link, or upload the file instead."
        )
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        raise PictureURLError(
            f"{shown_url(url)} is a web page, not a picture: link the image file itself (in a browser, "
            "right-click the picture and copy the image's address)."
        )
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise PictureURLError(_too_large(url, max_bytes))


async def _save(url: str, response: httpx.Response, target: Path, name: str, max_bytes: int) -> str:
    """Stream the answer into ``target/name``, never past ``max_bytes``; written whole or not at all."""
    target.mkdir(parents=True, exist_ok=True)
    partial = target / f".{uuid.uuid4().hex}.part"
    received = 0
    try:
        async with await anyio.open_file(partial, "wb") as handle:  # the event loop serves others meanwhile
            async for chunk in _body(url, response):
                received += len(chunk)
                if received > max_bytes:  # a length the server did not announce, or announced wrongly
                    raise PictureURLError(_too_large(url, max_bytes))
                await handle.write(chunk)
        path = target / name
        os.replace(partial, path)
        return str(path)
    finally:
        partial.unlink(missing_ok=True)


async def _body(url: str, response: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's bytes, inflated a piece of at most ``CHUNK_BYTES`` at a time where a server compressed it anyway."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        async for chunk in response.aiter_raw(CHUNK_BYTES):
            yield chunk
        return
    if encoding not in INFLATABLE:
        raise PictureURLError(
            f"The server at {shown_url(url)} sent the picture encoded as {encoding!r}: upload the file instead."
        )
    inflater = zlib.decompressobj(47)  # a gzip or a zlib header, whichever it has
    try:
        async for chunk in response.aiter_raw(CHUNK_BYTES):
            piece = inflater.decompress(chunk, CHUNK_BYTES)
            while piece:
                yield piece
                piece = inflater.decompress(inflater.unconsumed_tail, CHUNK_BYTES)
        yield inflater.flush()
    except zlib.error:
        raise PictureURLError(
            f"The server at {shown_url(url)} sent a damaged {encoding} answer: upload the file instead."
        ) from None


def _too_large(url: str, max_bytes: int) -> str:
    return f"The picture at {shown_url(url)} is larger than {max_bytes / 2**20:g} MB, the largest file the server accepts."


def shown_url(url: str, limit: int = 80) -> str:
    """The URL as quoted in a message: without its query (which may hold tokens), and cut short."""
    try:
        parsed = urlparse(url)
    except ValueError:  # not a URL urlparse can split: the text before any query or fragment, without a password
        shown = re.sub(r"//[^/@]*@", "//", url.split("?")[0].split("#")[0])
        return shown if len(shown) <= limit else shown[: limit - 1] + "…"
    try:
        port = f":{parsed.port}" if parsed.port else ""
    except ValueError:  # a port that is not a number
        port = ""
    shown = f"{parsed.scheme}://{parsed.hostname or ''}{port}{parsed.path}"  # no user name or password either
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
