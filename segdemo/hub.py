"""Fetch a pinned checkpoint from the Hugging Face Hub, failing fast and explaining why.

huggingface_hub retries an unreachable or failing server for about 20 s
before giving up, and never checks a download's sha256. So this module:

- asks the local Hub cache first (a pinned commit sha needs no request at all);
- probes the file's metadata once (no retries, short timeout) before
  downloading, so "not found", "bad revision", "server error" and
  "unreachable" come back at once with their reason;
- bounds the wait for the download with an overall deadline: past it the app
  goes on with its bundled copy, and the download, left to finish into the
  cache for the next start, never holds up the app's exit;
- checks the sha256 of ``model.safetensors`` itself;
- takes only a commit sha as a pin (a branch, once cached, would be resolved from the cache forever), and
  refuses a ``config.json`` bigger than ``MAX_CONFIG_BYTES`` by its probed size, before downloading it.

Every failure is a :class:`HubError` whose message is written for a visitor.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import errno
import hashlib
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import (
    get_hf_file_metadata,
    get_session,
    hf_hub_download,
    hf_hub_url,
    is_offline_mode,
    set_client_factory,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from .checkpoints import CONFIG_NAME, MAX_CONFIG_BYTES, WEIGHTS_NAME
from .internals import lost

try:  # the library's own client, its request hooks included (a private module: looked up, not relied on)
    from huggingface_hub.utils._http import default_client_factory
except ImportError:  # pragma: no cover - a huggingface_hub that moved it; bound_hub_timeouts says so
    default_client_factory = None

try:  # huggingface_hub 2.x talks HTTP through httpx2; its errors are what we classify
    import httpx2 as httpx
except ImportError:  # pragma: no cover - older huggingface_hub
    import httpx  # type: ignore[no-redef]

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 5.0  # seconds for the metadata request
DOWNLOAD_DEADLINE = 60.0  # seconds for both files, all retries included
COMMIT_SHA = re.compile(r"[0-9a-f]{40}")
# errnos of a cache folder that cannot be written: read-only, not ours, full
CACHE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT})
CACHE_UNWRITABLE = "the Hub cache folder could not be written"


def _in_the_background(work: Callable[[], Path]) -> concurrent.futures.Future[Path]:
    """``work`` on a daemon thread, as a future: a ThreadPoolExecutor's threads are joined when the interpreter
    exits, so a download still running past its deadline held the app's exit (Ctrl-C, a restart) until it ended."""
    future: concurrent.futures.Future[Path] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting caller, who explains it
            future.set_exception(error)

    threading.Thread(target=run, name="hub-download", daemon=True).start()
    return future


class HubError(Exception):
    """The Hub copy could not be used; the message says why in plain words."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(folder: Path, expected: str | None) -> None:
    """Refuse weights whose sha256 is not the pinned one."""
    if not expected:
        return
    actual = sha256_of(folder / WEIGHTS_NAME)
    if actual != expected.lower():
        raise HubError(f"{WEIGHTS_NAME} failed its integrity check (sha256 {actual[:12]}..., expected {expected[:12]}...)")


def commit_problem(revision: object) -> str | None:
    """Why ``revision`` is no pin, or None: a branch or tag is resolved from the local cache forever once cached,
    so a Space pinned to one would never see the branch move; only a commit names the same files everywhere."""
    if isinstance(revision, str) and COMMIT_SHA.fullmatch(revision):
        return None
    shown = repr(revision[:50] if isinstance(revision, str) else revision)[:60]
    return (f"revision {shown} is not a commit sha: pin a commit (40 lowercase hex digits, as segdemo.publish "
            "prints it), not a branch or tag")


def require_commit(revision: str) -> None:
    """Refuse a revision that is not a full commit sha (see ``commit_problem``)."""
    problem = commit_problem(revision)
    if problem:
        raise HubError(problem)


def cached_folder(repo_id: str, revision: str, cache_dir: str | Path | None = None) -> Path | None:
    """The snapshot folder holding both files of ``repo_id@revision`` in the local cache, else None."""
    require_commit(revision)
    try:
        paths = [
            hf_hub_download(repo_id, name, revision=revision, cache_dir=cache_dir, local_files_only=True)
            for name in (CONFIG_NAME, WEIGHTS_NAME)
        ]
    except (LocalEntryNotFoundError, EntryNotFoundError, OfflineModeIsEnabled, ValueError):
        return None
    return Path(paths[0]).parent


def _status(error: BaseException) -> int | None:
    """The HTTP status of a Hub error, if it carries an answer."""
    return getattr(getattr(error, "response", None), "status_code", None)


def _is_cache_error(error: BaseException) -> bool:
    """Whether ``error`` is the local cache folder refusing a write (read-only, not ours, disk full), not the network:
    both are OSErrors, and the visitor was told the Hub could not be reached when the disk was full."""
    network = (httpx.HTTPError, ConnectionError, TimeoutError, socket.gaierror, socket.herror)
    return isinstance(error, OSError) and not isinstance(error, network) and error.errno in CACHE_ERRNOS


def _describe(error: BaseException, repo_id: str, revision: str) -> str:
    # hf_hub_download wraps a failure of its own first request, after our probe found both files, in a
    # LocalEntryNotFoundError ("check your connection"), itself an EntryNotFoundError, or with force_download in a
    # ValueError: the failure the visitor is told of is the one under it
    if isinstance(error, (LocalEntryNotFoundError, ValueError)) and error.__cause__ is not None:
        return _describe(error.__cause__, repo_id, revision)
    if isinstance(error, LocalEntryNotFoundError):
        return "the Hub could not be reached"
    if isinstance(error, GatedRepoError):  # a RepositoryNotFoundError too: asked first
        return f"{repo_id} is a gated repo: accept its terms on the Hub, then set HF_TOKEN to a token of that account"
    if isinstance(error, RepositoryNotFoundError):
        if _status(error) == 401:
            return f"the Hub has no model repo {repo_id}, or it is private: set HF_TOKEN to a token that may read it"
        return f"the Hub has no model repo {repo_id} (or it is private)"
    if isinstance(error, RevisionNotFoundError):
        return f"{repo_id} has no revision {revision[:12]}"
    if isinstance(error, EntryNotFoundError):
        return f"{repo_id}@{revision[:12]} lacks {CONFIG_NAME} or {WEIGHTS_NAME}"
    if isinstance(error, OfflineModeIsEnabled):
        return "Hub downloads are switched off (HF_HUB_OFFLINE=1)"
    if isinstance(error, HfHubHTTPError):
        status = _status(error)
        if status in (401, 403):
            return f"the Hub answered with an error ({status}): set HF_TOKEN to a token that may read {repo_id}"
        return f"the Hub answered with an error ({status or 'HTTP error'})"
    if isinstance(error, (httpx.TimeoutException, concurrent.futures.TimeoutError, TimeoutError)):
        return "the Hub did not answer in time"
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "the download was cut off before the end"
    if _is_cache_error(error):
        return f"{CACHE_UNWRITABLE} ({os.strerror(error.errno).lower()})"
    if isinstance(error, (httpx.TransportError, ConnectionError, OSError)):
        return "the Hub could not be reached"
    return f"the Hub download failed ({type(error).__name__})"


def download(
    repo_id: str,
    revision: str,
    *,
    cache_dir: str | Path | None = None,
    endpoint: str | None = None,
    force: bool = False,
    probe_timeout: float = PROBE_TIMEOUT,
    deadline: float = DOWNLOAD_DEADLINE,
) -> Path:
    """Download both files of ``repo_id@revision`` into the cache; the snapshot folder, or HubError."""
    require_commit(revision)
    if is_offline_mode():
        raise HubError("Hub downloads are switched off (HF_HUB_OFFLINE=1)")
    try:
        sizes = {}
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            url = hf_hub_url(repo_id, name, revision=revision, endpoint=endpoint)
            sizes[name] = get_hf_file_metadata(url, timeout=probe_timeout, endpoint=endpoint).size
    except Exception as error:  # noqa: BLE001 - every failure becomes a reason for the visitor
        raise HubError(_explain(error, repo_id, revision)) from error
    check_config_size(sizes[CONFIG_NAME], repo_id, revision)

    def fetch() -> Path:
        paths = [
            hf_hub_download(
                repo_id,
                name,
                revision=revision,
                cache_dir=cache_dir,
                endpoint=endpoint,
                force_download=force,
                etag_timeout=probe_timeout,
            )
            for name in (CONFIG_NAME, WEIGHTS_NAME)
        ]
        return Path(paths[0]).parent

    future = _in_the_background(fetch)
    try:
        return future.result(timeout=deadline)
    except Exception as error:  # noqa: BLE001
        raise HubError(_explain(error, repo_id, revision)) from error


def check_config_size(size: int | None, repo_id: str, revision: str) -> None:
    """Refuse, before downloading it, a config.json bigger than any real one (a few kB) could be."""
    if size is not None and size > MAX_CONFIG_BYTES:
        raise HubError(f"{repo_id}@{revision[:12]} has a {CONFIG_NAME} of {size / 1e6:.1f} MB, more than the "
                       f"{MAX_CONFIG_BYTES // 1024} kB a checkpoint's config may be")


def _explain(error: BaseException, repo_id: str, revision: str) -> str:
    """``_describe``'s sentence for the visitor; the server's log keeps the full error (with paths) where it is local."""
    reason = _describe(error, repo_id, revision)
    if reason.startswith(CACHE_UNWRITABLE):
        log.warning("downloading %s@%s: %s", repo_id, revision[:12], _root_cause(error))
    return reason


def _root_cause(error: BaseException) -> BaseException:
    """The innermost ``__cause__`` of ``error``: the OSError that huggingface_hub may have wrapped."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


UPLOAD_ERRORS = (HfHubHTTPError, httpx.HTTPError, OSError)  # what publish and deploy turn into a message
# publish and deploy: huggingface_hub 2.4's client waits forever (timeout=None) on a Hub that takes the connection
# and never answers. A connection is made in seconds or not at all; an answer may take minutes after a large upload.
CONNECT_TIMEOUT = 10.0
UPLOAD_TIMEOUT = 300.0  # seconds without a byte read or written


def bound_hub_timeouts(timeout: float = UPLOAD_TIMEOUT, connect: float = CONNECT_TIMEOUT) -> None:
    """Give huggingface_hub's shared client finite timeouts, so that a Hub that never answers ends publish and
    deploy with "the Hub did not answer in time" instead of hanging; ``connect`` is capped at ``timeout``. Where
    huggingface_hub's own client factory moved, the timeouts are set on its shared session (``get_session``) instead,
    which the library's next ``set_client_factory`` or ``close_session`` undoes."""
    if default_client_factory is None:
        lost("huggingface-hub", "huggingface_hub.utils._http.default_client_factory", "publish and deploy set their "
             "timeouts on the library's current session alone")
        get_session().timeout = httpx.Timeout(timeout, connect=min(connect, timeout))
        return

    def bounded_client() -> httpx.Client:
        client = default_client_factory()  # the library's own, with its request hooks
        client.timeout = httpx.Timeout(timeout, connect=min(connect, timeout))
        return client

    set_client_factory(bounded_client)


def timeout_argument(text: str) -> float:
    """``--timeout``'s value: seconds above 0 (argparse says so in one line otherwise)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return seconds


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    """publish's and deploy's ``--timeout``: how long a Hub that took the connection may stay silent."""
    parser.add_argument("--timeout", type=timeout_argument, default=UPLOAD_TIMEOUT, metavar="SECONDS",
                        help=f"give up on a Hub silent this long (default {UPLOAD_TIMEOUT:g}; connecting: "
                             f"{CONNECT_TIMEOUT:g} at most)")


def describe_upload_failure(error: BaseException, repo: str) -> str:
    """Why an upload to ``repo`` failed, with what to do about it, for the maintainer at the terminal."""
    status = getattr(getattr(error, "response", None), "status_code", None)
    said = (getattr(error, "server_message", None) or "").strip().splitlines()
    said = f' ("{said[0]}")' if said else ""
    if status == 401:
        return (f"the Hub refused the token (401{said}): log in with `hf auth login`, or pass --token or set HF_TOKEN "
                "to a token with write access")
    if status == 403:
        return f"the token may not write to {repo} (403{said}): use a token of its owner with write access"
    if isinstance(error, HfHubHTTPError):
        return f"the Hub answered {status or 'with an error'}{said}"
    if isinstance(error, httpx.TimeoutException):
        return ("the Hub did not answer in time: check --endpoint or HF_ENDPOINT, or give a slow link a longer "
                "--timeout")
    if isinstance(error, (httpx.TransportError, ConnectionError)):
        return f"the Hub could not be reached ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"  # a local file that could not be read or written
