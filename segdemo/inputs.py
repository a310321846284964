"""The app's inputs: what each accepts from a browser or an API caller, and the sentence that refuses the rest.

Gradio checks an API caller's input before segdemo's code runs, and answered
a slip (a path without ``handle_file``, a number sent as text, a model's
label for its name) in pydantic's or its own internal terms, with a
traceback in the server's log. These components read what can be read and
refuse the rest in words, through ``refused``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import inspect
import json
import logging
import math
import os
import stat
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from pydantic import ConfigDict, ValidationError

from . import images
from .internals import lost, moved, optional
from .picture_urls import PictureURLError, fetch_picture, picture_url, served_here, shown_url

log = logging.getLogger(__name__)
C = TypeVar("C", bound=gr.components.Component)
T = TypeVar("T")
ImageData = gr.Image.data_model  # the component's data model (custom components' API), not gradio.data_classes'


class _NeverRaised(Exception):
    """Stands in for an exception class this Gradio does not have: no ``except`` catches it."""


def _parameter_names(fn: Any) -> list[tuple[str, ...]]:
    """``fn``'s parameters as Gradio's ``get_function_params`` lists them (the names first), near enough for a
    message: those a caller sends, without the request and event data Gradio fills in."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    filled = ("Request", "EventData", "Progress", "OAuth")
    return [(p.name,) for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and not any(word in str(p.annotation) for word in filled) and p.name != "request"]


# Gradio's internals whose loss costs a message's wording alone: looked up, and logged once where they moved
InvalidPathError = optional("gradio.exceptions", "InvalidPathError", _NeverRaised,
                            "a picture that names a file on the server is refused in Gradio's words, not segdemo's")
get_function_params = optional("gradio.utils", "get_function_params", _parameter_names,
                               "a call with the wrong number of inputs names them from segdemo's own reading")


# A refusal's or failure's message stays until the visitor closes it: Gradio's 10 s toast went, and left only the
# outputs' bare "Error" badges, which say nothing of why (an out-of-range seed typed, then an example clicked)
MESSAGE_STAYS = None


def refused(message: str, logged: str | None = None) -> gr.Error:
    """A visitor's request refused in words: the sentence is theirs, and the server's log gets it in one line, not
    the traceback Gradio prints for every error unless told not to (20-odd lines a bad upload in a Space's log).
    ``logged``: what the log gets instead, where the sentence repeats what the visitor sent (a path on their disk)."""
    log.info("refused: %s", message if logged is None else logged)
    return gr.Error(message, duration=MESSAGE_STAYS, print_exception=False)


class RefusingBlocks(gr.Blocks):
    """``gr.Blocks`` whose own checks of a call, made before any component or handler sees it, refuse in words.

    Gradio answered a call with too few inputs with the components' Python reprs and a hint about JavaScript
    functions, and a picture named by a path on the server with its cache's internals; both printed a traceback
    in the server's log for every such call.
    """

    def queue(self, *args: Any, **kwargs: Any) -> RefusingBlocks:
        """Gradio's queue with its ``max_size`` held when visitors arrive together, and held for each line of events
        that share a ``concurrency_id`` (the networks' runs; the re-blends; the browser copies), not for them all.

        Gradio checks the queue's size, then awaits the run's validator (``picture_given``, in a worker thread)
        before it adds the run: six visitors who pressed at once on a busy machine all passed the check of a queue
        of one, and all waited their turn (test_load). Here each arrival is checked and added before the next is
        looked at; a refused one is told at once, and the validator is the only wait (a few milliseconds).

        Gradio's check counts every event waiting: with the networks' line full, a visitor's opacity slider and
        colour box were refused too, with no word on the page (the overlay stayed as it was), and so was the browser
        copy of a HEIC or TIFF upload. Each line now waits up to ``max_size`` of its own: a re-blend takes
        milliseconds, and never waits behind the networks."""
        super().queue(*args, **kwargs)
        check_gradio_hooks(self)  # before any visitor: an override Gradio no longer calls would serve wrongly
        queue = getattr(self, "_queue", None)
        if not callable(getattr(queue, "push", None)):  # the size is still checked, only not for arrivals together
            lost("gradio", "Blocks._queue.push", "visitors who press at once may all pass a full queue's check of "
                 "max_size, and a full queue refuses the re-blends too")
            return self
        queue.push = _one_arrival_at_a_time(queue, queue.push)  # type: ignore[union-attr]
        return self

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        """Too few inputs, and too many for an endpoint of the API: Gradio dropped the extra ones, so /segment's
        five sent to /compare answered "Overlay opacity must be a number, not 'fcn8s_lite'." The page sends every
        event as many as it takes, its gr.State's included (counted in chromium); its private events, the page's
        own, are left to Gradio's rule (too few refused), which is kept here where Gradio has none."""
        gradios = getattr(super(), "validate_inputs", None)
        try:
            if gradios is not None:
                gradios(block_fn, inputs)
            elif len(inputs) < len(block_fn.inputs):
                raise ValueError("too few inputs")
        except ValueError:
            raise _wrong_count(block_fn, inputs) from None
        if len(inputs) > len(block_fn.inputs) and block_fn.api_visibility != "private":
            raise _wrong_count(block_fn, inputs)

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False) -> Any:
        if block_fn.is_validator_function:
            # A run's validator (``picture_given``) is called before the run is queued, with no limit on how many
            # at once: it gets the inputs as sent, so that no picture is fetched from its URL or copied there. A
            # call with the wrong count passes it, to be refused by the run, in its event stream as any refusal is
            # (raised here, it came back as an HTTP 400 to the POST, and Gradio printed it in the server's log).
            return list(inputs) if len(inputs) == len(block_fn.inputs) else [UNCOUNTED] * len(block_fn.inputs)
        self.validate_inputs(block_fn, inputs)  # before the pictures' URLs are read: a count's refusal first
        inputs = [_url_read(value) if isinstance(block, UploadImage) else value
                  for block, value in zip(block_fn.inputs, inputs)]
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except InvalidPathError:
            raise refused(SERVER_FILE) from None


# What RefusingBlocks and UploadImage override, and the parameters their overrides take: Gradio 6.31's.
PREPROCESS_PARAMETERS = ("self", "block_fn", "inputs", "state", "explicit_call")
MOVE_PARAMETERS = ("self", "url_or_file_path")


def check_gradio_hooks(demo: gr.Blocks) -> None:
    """Refuse to serve, in one line, where this Gradio no longer calls what segdemo overrides, as 6.31 did.

    Loud, not degraded: without ``preprocess_data`` a run's validator gets
    pictures already fetched from their URLs, and a changed signature fails
    every request with a traceback; without ``async_move_resource_to_block_cache``
    Gradio fetches a picture's URL itself, the whole answer into memory
    (``segdemo.picture_urls``), and a folder of its cache named as a picture
    stops its sweeps. ``validate_inputs`` is not among them: segdemo calls it
    itself, and keeps Gradio's rule where it went.
    """
    _check_parameters(gr.Blocks, "preprocess_data", PREPROCESS_PARAMETERS,
                      "it reads each call's inputs before Gradio does (segdemo/inputs.py, RefusingBlocks)")
    _check_parameters(gr.Image, "async_move_resource_to_block_cache", MOVE_PARAMETERS,
                      "it fetches a picture's URL within the upload's limits (segdemo/inputs.py, UploadImage)")
    fns = list(getattr(demo, "fns", {}).values())
    if any(not hasattr(fn, "is_validator_function") for fn in fns):
        raise moved("gradio", "BlockFunction.is_validator_function",
                    "a run's validator must get the inputs as sent (RefusingBlocks.preprocess_data)")
    for block in getattr(demo, "blocks", {}).values():
        if isinstance(block, UploadImage) and not all(hasattr(block, name) for name in ("GRADIO_CACHE", "temp_files")):
            raise moved("gradio", "Component.GRADIO_CACHE and Component.temp_files",
                        "a picture fetched from its URL is saved in Gradio's cache and swept with it")


def _check_parameters(owner: type, name: str, parameters: tuple[str, ...], why: str) -> None:
    """``owner.name`` is there and takes ``parameters``, or ``InternalMoved`` says which."""
    method = getattr(owner, name, None)
    taken = tuple(inspect.signature(method).parameters) if callable(method) else ()
    if taken[:len(parameters)] != parameters:
        raise moved("gradio", f"{owner.__name__}.{name}{'(' + ', '.join(parameters[1:]) + ')'}", why)


def _one_arrival_at_a_time(queue: Any, push: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """``Queue.push`` that runs for one arrival at a time, so that its size check and the run's addition are one
    step, and that checks the size of the arrival's own line (see ``RefusingBlocks.queue``)."""
    arriving = asyncio.Lock()

    async def push_alone(body: Any, *args: Any, **kwargs: Any) -> T:
        async with arriving:
            limit, waiting = queue.max_size, _waiting_in_line(queue, body)
            if limit is None or waiting is None:  # no bound, or a line Gradio's own check is left to
                return await push(body, *args, **kwargs)
            if waiting >= limit:  # Gradio's own refusal, which its clients and page show as "the queue is full"
                return False, f"Queue is full. Max size is {limit} and size is {waiting}.", "queue_full"  # type: ignore
            queue.max_size = None  # Gradio's check of every line, while this arrival alone is looked at
            try:
                return await push(body, *args, **kwargs)
            finally:
                queue.max_size = limit

    return push_alone


def _waiting_in_line(queue: Any, body: Any) -> int | None:
    """How many events wait in the line ``body``'s event joins (its ``concurrency_id``); None where this Gradio
    does not say (Gradio 6.31's ``route_utils.get_fn`` and ``Queue.event_queue_per_concurrency_id``)."""
    get_fn = optional("gradio.route_utils", "get_fn", None, "a full queue refuses the re-blends too")
    lines = getattr(queue, "event_queue_per_concurrency_id", None)
    if get_fn is None or not isinstance(lines, dict):
        return None
    try:
        line = lines.get(get_fn(queue.blocks, None, body).concurrency_id)
    except Exception:  # noqa: BLE001 - an event Gradio cannot name: its own check, and its own answer, follow
        return None
    return 0 if line is None else len(getattr(line, "queue", ()))


NO_PICTURE = "Please upload a picture first (or pick one of the examples)."
# A file description with neither path nor URL: what @gradio/client sends after the server refused its upload (a
# file over 50 MB: HTTP 413) or it could not read the file, where the visitor had been told to upload one
EMPTY_PICTURE = ("The picture came without its file (no path, no URL): its upload must have failed. The server "
                 f"takes files up to {images.MAX_FILE_BYTES >> 20} MB; check the file's size and that it can be read.")
SERVER_FILE = ("The picture names a file on the server, which a call may not read: send the file itself "
               "(gradio_client: handle_file(path); over HTTP, POST it to /gradio_api/upload first).")
TEXT_NOT_LOGGED = "The picture came as text (the text left out of the log)."
UNCOUNTED = "not counted"  # what a run's validator is given for each input of a call with the wrong count


def picture_given(picture: Any, *settings: Any) -> list[dict[str, Any]]:
    """A run's validator (``validator=``): a press with no picture is told so on the picture box before the run is
    queued, and the maps keep what they showed; refused by the run itself, every map was marked "Error". An API
    call with no picture gets the same sentence (gradio_client: ``ValidationError``; HTTP: 422). ``picture`` is
    the payload as sent (``RefusingBlocks.preprocess_data``); the settings are checked by the run. A file that
    names no file (``EMPTY_PICTURE``) is told why its upload must have failed."""
    given = gr.validate(False, EMPTY_PICTURE) if _empty_file(picture) else gr.validate(picture is not None, NO_PICTURE)
    return [given] + [gr.validate(True, "") for _ in settings]


def _empty_file(payload: Any) -> bool:
    """A file description that names no file: no path, no URL (``{}``, or its ``meta`` alone)."""
    if isinstance(payload, dict):
        return not payload.get("path") and not payload.get("url")
    return isinstance(payload, ImageData) and not payload.path and not payload.url


def _url_read(value: Any) -> Any:
    """A picture named by its URL (``{"path": "https://..."}``) with the URL as Gradio reads one: its scheme in lower
    case and no spaces around it (``picture_url``); a URL of another scheme (ftp:, data:) refused in words.
    Gradio took them all for files on the server, which a call may not read, and said so."""
    if not (isinstance(value, dict) and isinstance(value.get("path"), str)):
        return value
    try:
        url = picture_url(value["path"])
    except PictureURLError as error:
        raise refused(str(error)) from None
    return value if url is None or url == value["path"] else {**value, "path": url}


def _wrong_count(block_fn: Any, inputs: list[Any]) -> gr.Error:
    """A call with the wrong number of inputs refused with the names the endpoint takes (Gradio's message listed its
    components' Python objects and a hint about JavaScript functions)."""
    names = [name for name, *_ in get_function_params(block_fn.fn)]
    endpoint = f"/{block_fn.api_name}" if block_fn.api_name else "This event"
    return refused(f"{endpoint} takes {len(block_fn.inputs)} inputs ({', '.join(names)}); this call sent "
                   f"{len(inputs)}.")


def described(component: C, note: str, whole: bool = False) -> C:
    """``component``, its input described in the API's docs ("Use via API", ``client.view_api()``) beside its
    type: Gradio documents a slider as "float" and a seed as "int", never what they do. ``whole``: the input takes
    whole numbers, and the docs say "int" (Gradio calls every slider's value a float)."""
    schema = component.api_info
    typed = {"type": "integer"} if whole else {}
    component.api_info = lambda: {**schema(), **typed, "additional_description": note}  # type: ignore[method-assign]
    return component


class PictureData(ImageData):
    """Gradio's ``ImageData``, whose check of an API caller's input says what to send instead of pydantic's terms.

    Gradio validates the picture against its component's data model before the component sees it, and a bare
    string (the commonest slip: a path or URL without ``handle_file``) was answered "1 validation error for
    ImageData / Input should be a valid dictionary ..." with a traceback in the server's log.
    """

    model_config = ConfigDict(title="ImageData")  # the API's schema, and so gradio_client's view of it, unchanged

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> PictureData:
        how = _send_as_file("https://.../street.jpg")
        if isinstance(obj, str) and not obj.strip():
            raise refused(f"The picture came as empty text: {how}")
        if isinstance(obj, str):  # the visitor's path or URL is theirs: the log gets the sentence without it
            raise refused(f"The picture came as text: {_send_as_file(obj)}", logged=TEXT_NOT_LOGGED)
        if not isinstance(obj, (dict, ImageData)):
            raise refused(f"The picture came as {type(obj).__name__}: {how}")
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as error:
            problems = "; ".join(f'"{".".join(map(str, e["loc"])) or "picture"}": {e["msg"].lower()}'
                                 for e in error.errors()[:3])
            raise refused(f"The picture's description is not valid ({problems}): {how}") from None


def _send_as_file(path_or_url: str) -> str:
    """How to send ``path_or_url`` as a file, in gradio_client and over HTTP (a URL shown without its query or
    password, ``shown_url``; anything long cut short)."""
    is_url = "://" in path_or_url
    shown = shown_url(path_or_url, 60) if is_url else path_or_url
    shown = json.dumps(shown if len(shown) <= 60 else shown[:59] + "…", ensure_ascii=False)
    meta = '"meta": {"_type": "gradio.FileData"}'
    over_http = (f'{{"path": {shown}, {meta}}}' if is_url
                 else f'POST it to /gradio_api/upload and send {{"path": <the path it answers>, {meta}}}')
    return f"send it as a file: handle_file({shown}) in gradio_client, or, over HTTP, {over_http}."


class UploadImage(gr.Image):
    """``gr.Image`` that hands the uploaded file itself to ``segdemo.images``.

    Gradio's own preprocessing opens every upload with PIL before our code
    runs, so a corrupt file or a decompression bomb would fail there with a
    generic error. Passing the path on lets ``load_image`` check limits first
    and explain any refusal.
    """

    is_template = True  # rendered by the frontend's ordinary Image component
    data_model = PictureData

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        """A picture given as a URL is fetched by ``segdemo.picture_urls``, within the upload's limits, instead of
        by Gradio, which reads any answer whole into memory and explains no failure."""
        if isinstance(url_or_file_path, str) and url_or_file_path.lower().startswith(("http://", "https://")):
            if (here := served_here(url_or_file_path, self.GRADIO_CACHE)) is None:
                try:
                    path = await fetch_picture(url_or_file_path, self.GRADIO_CACHE, images.MAX_FILE_BYTES)
                except PictureURLError as error:
                    raise refused(str(error)) from None
                self.temp_files.add(path)
                return path
            url_or_file_path = here  # an upload's URL on this server (an agent's picture): the file itself
        if url_or_file_path is not None and not _regular_file(url_or_file_path):
            # Gradio noted a folder of its cache named as the picture among the files it deletes, and its sweeps,
            # at shutdown and by age, then stopped at it (os.remove of a folder): one call kept every upload
            raise refused(SERVER_FILE)
        return await super().async_move_resource_to_block_cache(url_or_file_path)

    def preprocess(self, payload: Any) -> str | bytes | None:
        if payload is None:
            return None
        if _empty_file(payload):  # the page's own events have no validator: refused here too
            raise refused(EMPTY_PICTURE)
        if payload.path is None and payload.url and payload.url.startswith("data:"):
            return _data_url_bytes(payload.url)
        if payload.path is None and payload.url:  # Gradio fetches a URL given as the path, never one given as "url"
            raise refused(
                'To send a picture by its URL, give the URL as "path": {"path": "https://...", "meta": {"_type": '
                '"gradio.FileData"}} (gradio_client: handle_file("https://...")).'
            )
        return payload.path


def _regular_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file, or names none at all (Gradio's own checks then say why): not a folder,
    a FIFO or a device."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):  # no such file, or a name no file can have (a NUL in it)
        return True


def _data_url_bytes(url: str) -> bytes:
    """The bytes a ``data:`` URL holds: base64 where its header says so, else percent-encoded (RFC 2397); base64
    that does not decode got Gradio's "Could not preprocess input component" and a traceback in the log."""
    header, _, data = url.partition(",")
    if not header.endswith(";base64"):
        return urllib.parse.unquote_to_bytes(data)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise refused("The picture's data: URL is not valid base64: send the file itself (gradio_client: "
                      "handle_file(path)).") from None


def _read_number(label: str | None, payload: Any, preprocess: Any, allow_none: bool = True, whole: bool = False) -> Any:
    """An API number input's value: a number sent as text ("3", "0.5", as a form or ``curl`` may send it) is read,
    anything else refused in words. Gradio's own check compared the text with the component's bounds and failed
    with a TypeError that a visitor saw only as "the upstream Gradio app has raised an exception", and its range
    message did not say which input was out of range. A ``whole`` input (samples, seed) refuses a fraction, which
    was quietly rounded (samples 2.5 ran 2, seed 1.5 ran 2)."""
    if isinstance(payload, str):
        try:
            payload = float(payload.strip())
        except ValueError:
            raise refused(f"{label} must be a number, not {payload[:40]!r}.") from None
    elif payload is None and not allow_none:  # Gradio's bounds check failed on it with a TypeError
        # null is JSON's word, which a JavaScript caller's NaN and Infinity become too; None is Python's
        raise refused(f"{label} must be a number, not null (None).")
    elif isinstance(payload, bool):  # a bool is an int to Python: samples true ran 1 sample
        raise refused(f"{label} must be a number, not {str(payload).lower()}.")
    elif payload is not None and not isinstance(payload, (int, float)):
        raise refused(f"{label} must be a number, not {type(payload).__name__}.")
    if isinstance(payload, float) and math.isnan(payload):  # it passes every bounds check
        raise refused(f"{label} must be a number, not NaN.")
    if whole and isinstance(payload, float) and not payload.is_integer():
        raise refused(f"{label} must be a whole number, not {payload:g}.")
    try:
        return preprocess(payload)
    except gr.Error as error:
        raise refused(f"{label}: {error.message}") from None


class NumberSlider(gr.Slider):
    """``gr.Slider`` that reads a number sent as text (``_read_number``)."""

    is_template = True  # rendered by the frontend's ordinary Slider (Gradio names it after the first base class)

    def preprocess(self, payload: Any) -> Any:
        whole = float(self.step).is_integer() and float(self.minimum).is_integer()  # the samples, not the opacity
        return _read_number(self.label, payload, super().preprocess, allow_none=False, whole=whole)


class NumberBox(gr.Number):
    """``gr.Number`` that reads a number sent as text (``_read_number``)."""

    is_template = True  # rendered by the frontend's ordinary Number

    def preprocess(self, payload: Any) -> Any:
        return _read_number(self.label, payload, super().preprocess, whole=self.precision == 0)


class ModelDropdown(gr.Dropdown):
    """``gr.Dropdown`` of models that takes a model's name or the label the page shows for it, and refuses anything
    else with the names to choose from, where Gradio's message named neither the input nor the labels."""

    is_template = True  # rendered by the frontend's ordinary Dropdown

    def preprocess(self, payload: Any) -> Any:
        by_label = {label: value for label, value in self.choices}
        if isinstance(payload, str) and payload not in by_label.values() and payload in by_label:
            payload = by_label[payload]
        try:
            # Gradio let a list of one name through, and None as far as the handler ("Unknown model 'None'")
            if not isinstance(payload, str):
                raise gr.Error("not a name")
            return super().preprocess(payload)
        except gr.Error:
            named = ", ".join(f"{value} ({label})" for label, value in self.choices)
            # None as the numbers' messages name it ("Overlay opacity must be a number, not null (None).")
            shown = (repr(payload[:40]) if isinstance(payload, str) else "null (None)" if payload is None
                     else type(payload).__name__)
            raise refused(f"{self.label} must be one of {named}, not {shown}.") from None
