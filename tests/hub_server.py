"""A local HTTP server that speaks the Hugging Face Hub's download and upload protocols, for tests.

``huggingface_hub`` (unmodified, no mocking) downloads from it when pointed at it with
``endpoint=server.url`` or ``HF_ENDPOINT=server.url``::

    with HubServer() as server:
        sha = server.add_commit("acme/tiny", {"config.json": b"{}", "model.safetensors": weights})
        path = hf_hub_download("acme/tiny", "model.safetensors", endpoint=server.url, cache_dir=tmp)

Endpoints (what huggingface_hub 2.4 really requests and reads):

* ``HEAD``/``GET /{repo_id}/resolve/{revision}/{path}``. ``revision`` is a branch, a tag or a full
  40-hex commit sha, URL-quoted as one path segment (``refs%2Fpr%2F1``). On success the answer carries
  ``X-Repo-Commit``; a regular file answers 200 with ``ETag: "<git blob sha1>"`` and its bytes; an LFS
  file (``*.safetensors`` by default) answers ``302`` with ``X-Linked-Etag: "<sha256>"``,
  ``X-Linked-Size`` and an *absolute* ``Location`` on a second port of this server, the "CDN"
  (``{cdn_url}/lfs-objects/<sha256>?filename=...``).

  Why a second port: for ``HEAD`` the client follows redirects only while they stay on the same origin
  (scheme, host, port) or a known Hub host, and reads the metadata (``X-Repo-Commit``, ``X-Linked-*``)
  from the *last* response. A same-origin redirect would therefore be followed, and the object
  response would have to carry ``X-Repo-Commit`` itself, which a real CDN never does. With a
  different origin the client stops at the 302, as with huggingface.co and its CDN, keeps the metadata
  of the 302, and ``GET``s the ``Location`` directly (without the Authorization header).
* ``HEAD``/``GET /lfs-objects/<sha256>`` on the CDN port, with ``Range`` support (206, 416).
* ``GET /api/models/{repo_id}`` and ``/api/models/{repo_id}/revision/{revision}``: model info JSON
  (``id``, ``sha``, ``siblings``...), enough for ``HfApi.model_info`` / ``repo_info``.
* ``GET /api/models/{repo_id}/tree/{revision}[/{path}]``: enough for ``list_repo_tree`` and
  ``snapshot_download``.
* ``GET /api/models/{repo_id}/refs``: enough for ``HfApi.list_repo_refs``.

The same under ``/spaces/...`` and ``/api/spaces/...`` (and ``datasets``) for other kinds of repo.

Uploads (what ``create_repo`` and ``upload_folder`` send; every write needs a bearer token, any will do):

* ``POST /api/repos/create``: a repo with the Hub's first commit (``.gitattributes``; a Space also gets a
  ``README.md`` naming its SDK); 409 with the repo's ``url`` when it exists.
* ``POST /api/validate-yaml``: a README's metadata block must parse as a YAML mapping; a Space's must also keep
  the Hub's rules that have refused real uploads (``_space_metadata_errors``).
* ``POST /api/{type}s/{repo_id}/preupload/{revision}``: each file's upload mode by the Hub's rule (LFS for
  what ``.gitattributes`` sends there, for binary samples and above 10 MiB) and its current oid, which
  lets the client skip unchanged files.
* ``POST /[{type}s/]{repo_id}.git/info/lfs/objects/batch`` (git-lfs batch API, basic transfer): an upload
  action to ``PUT {cdn_url}/lfs-upload/<sha256>`` (checked against the sha256 and size, as S3 would) and a
  verify action, or none for an object already stored.
* ``POST /api/{type}s/{repo_id}/commit/{branch}``: the NDJSON commit (``header`` with an optional
  ``parentCommit``, 412 when stale; ``file`` inline, refused when binary; ``lfsFile``, 422 when never
  uploaded; ``deletedFile`` / ``deletedFolder``, 404 ``EntryNotFound`` when absent), applied whole or not.

Not served: Xet storage. With ``hf_xet`` installed (the default) the client sends LFS files there and asks
``/api/{type}s/{repo_id}/xet-write-token/...`` for a token, which answers 501; tests of uploads set
``HF_HUB_DISABLE_XET`` (``huggingface_hub.constants.HF_HUB_DISABLE_XET``) so that the client takes the LFS
path it keeps for clients without ``hf_xet``.

Errors use the Hub's headers: unknown repo -> 404 ``X-Error-Code: RepoNotFound``; unknown revision ->
404 ``RevisionNotFound``; unknown file -> 404 ``EntryNotFound`` (with ``X-Repo-Commit``, so the client
caches the non-existence under ``.no_exist``).

Fault injection (``fail``, ``hang``, ``truncate``, ``corrupt``) applies to subsequent requests until
``reset()``, or only to the next ``times`` matching requests when ``times`` is given.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["HubServer"]

_API_KEYWORDS = ("revision", "tree", "refs", "preupload", "commit", "xet-write-token")
_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
_LFS_BATCH = ".git/info/lfs/objects/batch"
_LFS_VERIFY = ".git/info/lfs/objects/verify"
# The first lines of the .gitattributes the Hub writes into a new repo: which names go to LFS.
_DEFAULT_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in ("*.7z", "*.bin", "*.ckpt", "*.gz", "*.h5", "*.npy", "*.npz", "*.onnx", "*.parquet", "*.pickle",
                    "*.pkl", "*.pt", "*.pth", "*.safetensors", "*.tar", "*.tflite", "*.zip", "*.zst", "*tfevents*")
)
_REGULAR_LIMIT = 10 * 1024 * 1024  # bigger files must go through LFS, whatever their kind
_INVERT = bytes(255 - b for b in range(256))  # corrupt(): every byte XOR 0xFF


_SPACE_SDKS = ("gradio", "docker", "static", "streamlit")
_SPACE_COLOURS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")


def _space_metadata_errors(metadata: dict) -> list[str]:
    """The Hub's rules for a Space's README metadata that have refused real uploads, in the Hub's words."""
    errors = []
    if len(str(metadata.get("short_description", ""))) > 60:
        errors.append('"short_description" length must be less than or equal to 60 characters long')
    if "sdk" in metadata and metadata["sdk"] not in _SPACE_SDKS:
        errors.append(f'"sdk" must be one of [{", ".join(_SPACE_SDKS)}]')
    for key in ("colorFrom", "colorTo"):
        if key in metadata and metadata[key] not in _SPACE_COLOURS:
            errors.append(f'"{key}" must be one of [{", ".join(_SPACE_COLOURS)}]')
    return errors


def _git_blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _key(repo_type: str, repo_id: str) -> str:
    """Where a repo is kept: models under their id, datasets and Spaces under their URL prefix."""
    return repo_id if repo_type == "model" else f"{repo_type}s/{repo_id}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class _Blob:
    content: bytes
    sha256: str
    git_sha1: str
    lfs: bool  # stored in LFS: resolved through the CDN, listed with its pointer's oid

    @classmethod
    def of(cls, content: bytes, lfs: bool) -> "_Blob":
        return cls(content, hashlib.sha256(content).hexdigest(), _git_blob_sha1(content), lfs)


@dataclass
class _Commit:
    sha: str
    files: dict[str, _Blob]
    parent: str | None
    title: str
    date: str


@dataclass
class _Repo:
    repo_type: str = "model"
    sdk: str | None = None  # a Space's SDK, as create_repo gave it
    private: bool = False
    commits: dict[str, _Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    kind: str  # "fail" | "hang" | "truncate" | "corrupt"
    match: str  # substring of the request path (fail/hang) or a repo filename (truncate/corrupt)
    value: float = 0  # status, seconds or keep_bytes
    times: int | None = None  # None: until reset()
    after: int = 0  # matching requests answered normally before the fault starts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, hub: "HubServer", role: str):
        self.hub = hub
        self.role = role  # "hub" or "cdn"
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup that can stall without a network.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close every open (keep-alive or hanging) connection so that a stopped server answers nothing."""
        with self.connections_lock:
            connections = list(self.open_connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the Hub
    server_version = "HubServer/1.0"
    server: _Server
    body: bytes = b""  # a POST's or PUT's body, read before any answer

    def log_message(self, format, *args) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_HEAD(self) -> None:
        self.server.hub._handle(self, "HEAD", self.server.role)

    def do_GET(self) -> None:
        self.server.hub._handle(self, "GET", self.server.role)

    def do_POST(self) -> None:
        self.server.hub._handle(self, "POST", self.server.role)

    def do_PUT(self) -> None:
        self.server.hub._handle(self, "PUT", self.server.role)

    def read_body(self) -> bytes:
        """The request's body, sized by Content-Length or sent in chunks (httpx streams file uploads so)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()  # the CRLF after each chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))


class _Abort(Exception):
    """Stop handling the request and close the connection without an answer."""


class HubServer:
    """A threaded Hub-protocol server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, port: int = 0, *, lfs_suffixes: tuple[str, ...] = (".safetensors",)):
        # Until the first start() these are ports nobody listens on (a never-started server refuses
        # connections). Unless a port was given, start() binds port 0 and keeps what the kernel chose:
        # a port picked here and bound later could be taken in between (by a client's ephemeral port,
        # or by the other of the two, since a released port can be handed out again at once).
        self.port = port or _free_port()
        self.cdn_port = _free_port()
        self._hub_port_given = bool(port)
        self._started_once = False
        self.lfs_suffixes = tuple(lfs_suffixes)
        self.requests: list[tuple[str, str]] = []  # (method, raw request path incl. query)
        self.request_headers: list[dict[str, str]] = []  # headers (lower-case names) of each logged request
        self._repos: dict[str, _Repo] = {}
        self._lfs_objects: dict[str, tuple[bytes, set[str]]] = {}  # sha256 -> (content, repo paths)
        self._lfs_expected: dict[str, int] = {}  # sha256 -> size: objects the batch API invited
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._wake = threading.Event()  # set to wake up hanging handlers (reset/stop)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._commit_counter = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self.cdn_port}"

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def start(self) -> "HubServer":
        """Start serving (again, after ``stop()``, on the same ports).

        Read ``url`` after the first start: unless a port was given, that is when the ports are chosen."""
        if self._servers:
            return self
        self._wake = threading.Event()
        if self._started_once:
            wanted = ((self.port, "hub"), (self.cdn_port, "cdn"))
        else:
            wanted = ((self.port if self._hub_port_given else 0, "hub"), (0, "cdn"))
        servers = []
        try:
            for port, role in wanted:
                servers.append(_Server(("127.0.0.1", port), self, role))
        except OSError:
            for server in servers:
                server.server_close()
            raise
        self.port, self.cdn_port = (server.server_port for server in servers)
        self._started_once = True
        self._servers = servers
        self._threads = []
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"HubServer-{server.role}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving: the ports refuse connections and open connections are closed."""
        servers, self._servers = self._servers, []
        self._wake.set()
        for server in servers:
            server.shutdown()
        for server in servers:
            server.drop_connections()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------------ content
    def add_commit(
        self,
        repo_id: str,
        files: dict[str, bytes | None],
        branch: str = "main",
        tag: str | None = None,
        message: str | None = None,
        repo_type: str = "model",
    ) -> str:
        """Commit ``files`` on top of ``branch`` (created if missing); returns the new 40-hex commit sha.

        Files of the parent commit are kept unless overwritten; a ``None`` value deletes a file. The
        branch moves to the new commit; older commits stay addressable by sha. ``branch`` may be any ref
        name, e.g. ``"refs/pr/1"``. ``tag``, if given, is (re)pointed at the new commit. Files whose
        names end with one of ``lfs_suffixes`` are stored in LFS.
        """
        changes = {
            path: None if content is None else _Blob.of(bytes(content), self._is_lfs(path))
            for path, content in files.items()
        }
        with self._lock:
            self._repos.setdefault(_key(repo_type, repo_id), _Repo(repo_type))
            return self._commit(repo_type, repo_id, changes, branch, message, tag)

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> dict[str, bytes]:
        """The files of ``repo_id`` at ``revision`` (a branch, tag or commit sha): what a clone would hold."""
        return {path: blob.content for path, blob in self._snapshot(repo_type, repo_id, revision).items()}

    def lfs_files(self, repo_id: str, revision: str = "main", repo_type: str = "model") -> set[str]:
        """Which of those files the repo stores in LFS (uploaded through the LFS batch API)."""
        return {path for path, blob in self._snapshot(repo_type, repo_id, revision).items() if blob.lfs}

    def _snapshot(self, repo_type: str, repo_id: str, revision: str) -> dict[str, _Blob]:
        with self._lock:
            repo = self._repos[_key(repo_type, repo_id)]
            sha = repo.branches.get(revision) or repo.tags.get(revision) or revision
            return dict(repo.commits[sha].files)

    def commits(self, repo_id: str, branch: str = "main", repo_type: str = "model") -> list[str]:
        """The titles of the commits on ``branch``, newest first."""
        with self._lock:
            repo = self._repos[_key(repo_type, repo_id)]
            titles, sha = [], repo.branches.get(branch)
            while sha is not None:
                titles.append(repo.commits[sha].title)
                sha = repo.commits[sha].parent
            return titles

    def _commit(
        self,
        repo_type: str,
        repo_id: str,
        changes: dict[str, "_Blob | None"],
        branch: str,
        message: str | None,
        tag: str | None = None,
    ) -> str:
        """Record a commit of ``changes`` on ``branch`` of an existing repo (the lock held)."""
        repo = self._repos[_key(repo_type, repo_id)]
        parent = repo.branches.get(branch)
        snapshot = dict(repo.commits[parent].files) if parent else {}
        for path, blob in changes.items():
            path = path.strip("/")
            if blob is None:
                snapshot.pop(path, None)
            else:
                snapshot[path] = blob
                if blob.lfs:
                    self._lfs_objects.setdefault(blob.sha256, (blob.content, set()))[1].add(path)
        self._commit_counter += 1
        digest = hashlib.sha1()
        digest.update(f"{repo_type}\0{repo_id}\0{parent}\0{self._commit_counter}\0{time.time_ns()}".encode())
        for path in sorted(snapshot):
            digest.update(f"\0{path}\0{snapshot[path].git_sha1}".encode())
        sha = digest.hexdigest()
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        repo.commits[sha] = _Commit(sha, snapshot, parent, message or f"Commit {self._commit_counter}", date)
        repo.branches[branch] = sha
        if tag is not None:
            repo.tags[tag] = sha
        return sha

    # ------------------------------------------------------------------ faults
    def fail(self, status: int, path_contains: str = "", *, times: int | None = None, after: int = 0) -> None:
        """Answer ``status`` (JSON error body, no ``X-Error-Code``) to matching requests, from the one after the
        first ``after`` (a failure after a client's first look succeeded)."""
        self._add_fault(_Fault("fail", path_contains, status, times, after))

    def hang(self, seconds: float, path_contains: str = "", *, times: int | None = None, after: int = 0) -> None:
        """Sleep ``seconds`` before answering matching requests, from the one after the first ``after`` (woken
        early by ``reset``/``stop``)."""
        self._add_fault(_Fault("hang", path_contains, seconds, times, after))

    def truncate(self, filename: str, keep_bytes: int, *, times: int | None = None) -> None:
        """Torn download: GETs of ``filename`` advertise the full size but the connection is closed after
        byte ``keep_bytes`` of the file (a resumed ``Range`` request starting at or after it gets no byte)."""
        self._add_fault(_Fault("truncate", filename, keep_bytes, times))

    def corrupt(self, filename: str, *, times: int | None = None) -> None:
        """GETs of ``filename`` return different bytes of the same length (every byte XOR 0xFF);
        advertised size and etag are unchanged."""
        self._add_fault(_Fault("corrupt", filename, 0, times))

    def reset(self) -> None:
        """Remove every fault (and wake up hanging requests, which then answer normally)."""
        with self._lock:
            self._faults.clear()
            wake, self._wake = self._wake, threading.Event()
        wake.set()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, kind: str, predicate) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and predicate(fault.match):
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # ------------------------------------------------------------------ request handling
    def _handle(self, handler: _Handler, method: str, role: str) -> None:
        raw_path = handler.path
        with self._lock:
            self.requests.append((method, raw_path))
            self.request_headers.append({k.lower(): v for k, v in handler.headers.items()})
            wake = self._wake
        try:
            handler.body = handler.read_body() if method in ("POST", "PUT") else b""
            hang = self._take_fault("hang", lambda match: match in raw_path)
            if hang is not None:
                wake.wait(hang.value)
                if not self._servers:
                    raise _Abort
            failure = self._take_fault("fail", lambda match: match in raw_path)
            if failure is not None:
                status = int(failure.value)
                self._send_json(handler, method, status, {"error": f"Injected failure ({status})"})
                return
            if role == "cdn":
                self._handle_cdn(handler, method, raw_path)
            else:
                self._handle_hub(handler, method, raw_path)
        except _Abort:
            handler.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True

    def _handle_hub(self, handler: _Handler, method: str, raw_path: str) -> None:
        path = urlsplit(raw_path).path
        query = parse_qs(urlsplit(raw_path).query)
        segments = path.lstrip("/").split("/")
        if segments[0] == "api":
            if segments[1:] == ["repos", "create"] and method == "POST":
                self._handle_create_repo(handler, method)
            elif segments[1:] == ["validate-yaml"] and method == "POST":
                self._handle_validate_yaml(handler, method)
            elif len(segments) >= 3 and segments[1] in _API_TYPES:
                self._handle_api(handler, method, _API_TYPES[segments[1]], segments[2:], query)
            else:
                self._send_json(handler, method, 404, {"error": "Not found"})
            return
        repo_type = "model"
        if segments[0] in _API_TYPES and segments[0] != "models":  # "spaces/namespace/name/resolve/..."
            repo_type, segments = _API_TYPES[segments[0]], segments[1:]
        if method == "POST" and path.endswith((_LFS_BATCH, _LFS_VERIFY)):
            repo_id = unquote("/".join(segments).split(".git/info/lfs/")[0])
            self._handle_lfs(handler, method, repo_type, repo_id, path.endswith(_LFS_VERIFY))
            return
        for n in (2, 1):  # "namespace/name/resolve/..." or legacy "name/resolve/..."
            if len(segments) >= n + 3 and segments[n] == "resolve" and method in ("GET", "HEAD"):
                repo_id = "/".join(unquote(s) for s in segments[:n])
                revision = unquote(segments[n + 1])
                filename = unquote("/".join(segments[n + 2 :]))
                self._handle_resolve(handler, method, repo_type, repo_id, revision, filename)
                return
        self._send_json(handler, method, 404, {"error": "Not found"})

    def _lookup(
        self, handler: _Handler, method: str, repo_type: str, repo_id: str, revision: str | None
    ) -> _Commit | None:
        """The commit for ``revision`` (default branch if None), or None after answering the 404."""
        with self._lock:
            repo = self._repos.get(_key(repo_type, repo_id))
            if repo is None:
                self._send_json(handler, method, 404, {"error": "Repository not found"}, error_code="RepoNotFound")
                return None
            revision = revision or "main"
            sha = repo.branches.get(revision) or repo.tags.get(revision)
            if sha is None and revision in repo.commits:
                sha = revision
            if sha is None:
                self._send_json(
                    handler, method, 404, {"error": f"Invalid rev id: {revision}"}, error_code="RevisionNotFound"
                )
                return None
            return repo.commits[sha]

    def _is_lfs(self, filename: str) -> bool:
        return filename.endswith(self.lfs_suffixes)

    def _handle_resolve(
        self, handler: _Handler, method: str, repo_type: str, repo_id: str, revision: str, filename: str
    ) -> None:
        commit = self._lookup(handler, method, repo_type, repo_id, revision)
        if commit is None:
            return
        blob = commit.files.get(filename)
        if blob is None:
            self._send_json(
                handler,
                method,
                404,
                {"error": "Entry not found"},
                error_code="EntryNotFound",
                extra={"X-Repo-Commit": commit.sha},
            )
            return
        if blob.lfs:
            size = len(blob.content)
            location = f"{self.cdn_url}/lfs-objects/{blob.sha256}?filename={quote(filename, safe='')}"
            headers = {
                "X-Repo-Commit": commit.sha,
                "ETag": f'"{_git_blob_sha1(_lfs_pointer(blob.sha256, size))}"',
                "X-Linked-Etag": f'"{blob.sha256}"',
                "X-Linked-Size": str(size),
                "Location": location,
            }
            self._send(handler, method, 302, headers, b"")
            return
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{blob.git_sha1}"'}
        self._send_file(handler, method, headers, blob.content, filename)

    def _handle_cdn(self, handler: _Handler, method: str, raw_path: str) -> None:
        parts = urlsplit(raw_path)
        segments = parts.path.lstrip("/").split("/")
        if method == "PUT" and len(segments) == 2 and segments[0] == "lfs-upload":
            self._handle_lfs_put(handler, method, segments[1])
            return
        if method not in ("GET", "HEAD"):
            self._send_json(handler, method, 404, {"error": "Not found"})
            return
        if len(segments) != 2 or segments[0] != "lfs-objects":
            self._send_json(handler, method, 404, {"error": "Not found"})
            return
        sha256 = segments[1]
        filename = parse_qs(parts.query).get("filename", [None])[0]
        with self._lock:
            content, names = self._lfs_objects.get(sha256, (None, set()))
            names = {filename} if filename else set(names)
        if content is None:
            self._send(handler, method, 404, {"Content-Type": "text/plain"}, b"NoSuchKey")
            return
        headers = {"ETag": f'"{sha256}"'}
        self._send_file(handler, method, headers, content, filename or sorted(names)[0], names)

    def _send_file(
        self,
        handler: _Handler,
        method: str,
        headers: dict[str, str],
        content: bytes,
        filename: str,
        names: set[str] | None = None,
    ) -> None:
        names = names or {filename}
        total = len(content)
        start, end, status = 0, total - 1, 200
        range_header = handler.headers.get("Range")
        if range_header:
            parsed = self._parse_range(range_header, total)
            if parsed is None:
                self._send(handler, method, 416, {**headers, "Content-Range": f"bytes */{total}"}, b"")
                return
            start, end = parsed
            status = 206
            headers = {**headers, "Content-Range": f"bytes {start}-{end}/{total}"}
        headers = {
            **headers,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{filename.rsplit("/", 1)[-1]}";',
        }
        if method == "HEAD":
            self._send(handler, method, status, headers, b"", content_length=end - start + 1)
            return

        def matches(match: str) -> bool:
            return any(match == name or match == name.rsplit("/", 1)[-1] for name in names)

        body = content
        if self._take_fault("corrupt", matches) is not None:
            body = bytes(content).translate(_INVERT)
        body = body[start : end + 1]
        truncate = self._take_fault("truncate", matches)
        if truncate is not None:
            keep = int(truncate.value)
            sent = body[: max(0, keep - start)]
            self._send(handler, method, status, headers, sent, content_length=len(body), close=True)
            return
        self._send(handler, method, status, headers, body)

    @staticmethod
    def _parse_range(value: str, total: int) -> tuple[int, int] | None:
        unit, _, spec = value.partition("=")
        if unit.strip().lower() != "bytes" or "," in spec:
            return None
        first, _, last = spec.strip().partition("-")
        try:
            if first == "":  # suffix range: the last N bytes
                length = int(last)
                if length <= 0:
                    return None
                return max(0, total - length), total - 1
            start = int(first)
            end = int(last) if last else total - 1
        except ValueError:
            return None
        if start >= total or end < start:
            return None
        return start, min(end, total - 1)

    # ------------------------------------------------------------------ API
    def _handle_api(
        self, handler: _Handler, method: str, repo_type: str, rest: list[str], query: dict[str, list[str]]
    ) -> None:
        if len(rest) > 2 and rest[2] in _API_KEYWORDS:
            n = 2
        elif len(rest) > 1 and rest[1] in _API_KEYWORDS:
            n = 1
        else:
            n = len(rest)
        repo_id = "/".join(unquote(s) for s in rest[:n])
        action = rest[n] if len(rest) > n else None
        args = [unquote(s) for s in rest[n + 1 :]]
        if method == "POST" and action in ("preupload", "commit") and len(args) == 1:
            if self._authorized(handler, method):
                if action == "preupload":
                    self._handle_preupload(handler, method, repo_type, repo_id, args[0])
                else:
                    self._handle_commit(handler, method, repo_type, repo_id, args[0], query)
            return
        if method not in ("GET", "HEAD"):
            self._send_json(handler, method, 404, {"error": "Not found"})
            return
        if action == "xet-write-token":
            # hf_xet would take a token here and talk to a Xet storage server, which this one is not
            self._send_json(handler, method, 501, {"error": "no Xet storage here: set HF_HUB_DISABLE_XET=1"})
            return
        if action is None or action == "revision":
            commit = self._lookup(handler, method, repo_type, repo_id, args[0] if args else None)
            if commit is not None:
                blobs = query.get("blobs", ["false"])[0].lower() in ("1", "true")
                self._send_json(handler, method, 200, self._repo_info(repo_type, repo_id, commit, blobs))
            return
        if action == "refs":
            self._handle_refs(handler, method, repo_type, repo_id)
            return
        if action == "tree":
            commit = self._lookup(handler, method, repo_type, repo_id, args[0] if args else None)
            if commit is None:
                return
            folder = "/".join(args[1:]).strip("/")
            recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
            entries = self._tree(commit, folder, recursive)
            if entries is None:
                self._send_json(
                    handler,
                    method,
                    404,
                    {"error": "Entry not found"},
                    error_code="EntryNotFound",
                    extra={"X-Repo-Commit": commit.sha},
                )
                return
            self._send_json(handler, method, 200, entries)
            return
        self._send_json(handler, method, 404, {"error": "Not found"})

    def _file_entry(self, path: str, blob: _Blob) -> dict:
        size = len(blob.content)
        if blob.lfs:
            pointer = _lfs_pointer(blob.sha256, size)
            return {
                "type": "file",
                "oid": _git_blob_sha1(pointer),
                "size": size,
                "lfs": {"oid": blob.sha256, "size": size, "pointerSize": len(pointer)},
                "path": path,
            }
        return {"type": "file", "oid": blob.git_sha1, "size": size, "path": path}

    def _repo_info(self, repo_type: str, repo_id: str, commit: _Commit, blobs: bool) -> dict:
        siblings = []
        for path in sorted(commit.files):
            sibling: dict = {"rfilename": path}
            if blobs:
                entry = self._file_entry(path, commit.files[path])
                sibling.update(size=entry["size"], blobId=entry["oid"])
                if "lfs" in entry:
                    lfs = entry["lfs"]
                    sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
            siblings.append(sibling)
        with self._lock:
            repo = self._repos[_key(repo_type, repo_id)]
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "sha": commit.sha,
            "lastModified": commit.date,
            "createdAt": commit.date,
            "private": repo.private,
            "disabled": False,
            "gated": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
        }
        if repo_type == "model":
            info["modelId"] = repo_id
        if repo_type == "space":
            info.update(sdk=repo.sdk, runtime={"stage": "BUILDING", "hardware": {"current": None}})
        return info

    def _tree(self, commit: _Commit, folder: str, recursive: bool) -> list[dict] | None:
        prefix = f"{folder}/" if folder else ""
        if folder and not any(path.startswith(prefix) for path in commit.files):
            return None
        entries: dict[str, dict] = {}
        for path in sorted(commit.files):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            for depth in range(1, len(parts)):
                directory = prefix + "/".join(parts[:depth])
                if directory not in entries:
                    entries[directory] = {
                        "type": "directory",
                        "oid": hashlib.sha1(f"{commit.sha}\0{directory}".encode()).hexdigest(),
                        "size": 0,
                        "path": directory,
                    }
                if not recursive:
                    break
            if recursive or len(parts) == 1:
                entries[path] = self._file_entry(path, commit.files[path])
        return list(entries.values())

    def _handle_refs(self, handler: _Handler, method: str, repo_type: str, repo_id: str) -> None:
        with self._lock:
            repo = self._repos.get(_key(repo_type, repo_id))
            if repo is None:
                self._send_json(handler, method, 404, {"error": "Repository not found"}, error_code="RepoNotFound")
                return
            branches = [
                {"name": name, "ref": f"refs/heads/{name}", "targetCommit": sha}
                for name, sha in repo.branches.items()
                if not name.startswith("refs/")
            ]
            pulls = [
                {"name": name, "ref": name, "targetCommit": sha}
                for name, sha in repo.branches.items()
                if name.startswith("refs/")
            ]
            tags = [{"name": name, "ref": f"refs/tags/{name}", "targetCommit": sha} for name, sha in repo.tags.items()]
        self._send_json(
            handler, method, 200, {"branches": branches, "converts": [], "tags": tags, "pullRequests": pulls}
        )

    # ------------------------------------------------------------------ uploads
    def _authorized(self, handler: _Handler, method: str) -> bool:
        """Writes need a token, as on the Hub (any bearer token will do here); False after answering 401."""
        authorization = handler.headers.get("Authorization", "")
        if authorization.startswith("Bearer ") and authorization[len("Bearer "):].strip():
            return True
        self._send_json(handler, method, 401, {"error": "Invalid username or password."})
        return False

    def _json_body(self, handler: _Handler, method: str):
        """The request's JSON, or None after answering 400."""
        try:
            return json.loads(handler.body or b"{}")
        except ValueError:
            self._send_json(handler, method, 400, {"error": "Invalid JSON body"})
            return None

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.url}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"

    def _handle_create_repo(self, handler: _Handler, method: str) -> None:
        if not self._authorized(handler, method):
            return
        payload = self._json_body(handler, method)
        if payload is None:
            return
        repo_type, name, owner, sdk = (payload.get(k) for k in ("type", "name", "organization", "sdk"))
        repo_type = repo_type or "model"
        problem = None
        if repo_type not in ("model", "dataset", "space"):
            problem = f"Invalid repo type: {repo_type}"
        elif not name or not owner:
            problem = "Give the repo as OWNER/NAME (this server knows no user to default to)"
        elif repo_type == "space" and sdk not in ("gradio", "docker", "static"):
            problem = f"Invalid Space SDK: {sdk}"
        if problem:
            self._send_json(handler, method, 400, {"error": problem})
            return
        repo_id = f"{owner}/{name}"
        url = self._repo_url(repo_type, repo_id)
        with self._lock:
            if _key(repo_type, repo_id) in self._repos:
                exists = {"error": f"You already created this {repo_type} repo", "url": url}
                self._send_json(handler, method, 409, exists)
                return
            private = payload.get("visibility") == "private" or payload.get("private") is True
            self._repos[_key(repo_type, repo_id)] = _Repo(repo_type, sdk if repo_type == "space" else None, private)
            first = {".gitattributes": _Blob.of(_DEFAULT_GITATTRIBUTES.encode(), False)}
            if repo_type == "space":  # the Hub starts a Space with a card that names its SDK
                card = f"---\ntitle: {name}\nsdk: {sdk}\n---\n"
                first["README.md"] = _Blob.of(card.encode(), False)
            self._commit(repo_type, repo_id, first, "main", "initial commit")
        created = {"url": url, "name": repo_id, "id": hashlib.sha1(url.encode()).hexdigest()[:24]}
        self._send_json(handler, method, 200, created)

    def _handle_validate_yaml(self, handler: _Handler, method: str) -> None:
        """The metadata block of a README.md must be a YAML mapping, and a Space's must keep the rules of the Hub's
        that have refused real Spaces' uploads (``_space_metadata_errors``)."""
        import yaml

        payload = self._json_body(handler, method)
        if payload is None:
            return
        content = str(payload.get("content", ""))
        errors = []
        if content.startswith("---"):
            block = content.split("\n---", 1)[0].removeprefix("---")
            try:
                metadata = yaml.safe_load(block)
                if metadata is not None and not isinstance(metadata, dict):
                    errors.append({"message": "the metadata block is not a mapping"})
                elif metadata and payload.get("repoType") == "space":
                    errors += [{"message": message} for message in _space_metadata_errors(metadata)]
            except yaml.YAMLError as error:
                errors.append({"message": f"the metadata block is not valid YAML: {error}"})
        self._send_json(handler, method, 400 if errors else 200, {"errors": errors, "warnings": []})

    @staticmethod
    def _lfs_patterns(commit: _Commit) -> list[str]:
        blob = commit.files.get(".gitattributes")
        lines = blob.content.decode(errors="replace").splitlines() if blob else []
        return [line.split()[0] for line in lines if "filter=lfs" in line.split()[1:]]

    def _goes_to_lfs(self, commit: _Commit, path: str, sample: bytes, size: int) -> bool:
        """The Hub's rule: LFS for what .gitattributes sends there, for binary files and for big ones."""
        for pattern in self._lfs_patterns(commit):
            if fnmatch.fnmatch(path if "/" in pattern else path.rsplit("/", 1)[-1], pattern):
                return True
        return b"\0" in sample or size > _REGULAR_LIMIT

    def _handle_preupload(self, handler: _Handler, method: str, repo_type: str, repo_id: str, revision: str) -> None:
        commit = self._lookup(handler, method, repo_type, repo_id, revision)
        payload = None if commit is None else self._json_body(handler, method)
        if payload is None:
            return
        answers = []
        for file in payload.get("files", []):
            path, size = file["path"], int(file["size"])
            sample = base64.b64decode(file.get("sample", ""))
            existing = commit.files.get(path)
            oid = None if existing is None else existing.sha256 if existing.lfs else existing.git_sha1
            mode = "lfs" if self._goes_to_lfs(commit, path, sample, size) else "regular"
            answers.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send_json(handler, method, 200, {"files": answers, "commitOid": commit.sha})

    def _handle_lfs(self, handler: _Handler, method: str, repo_type: str, repo_id: str, verify: bool) -> None:
        """The git-lfs batch API (basic transfer, the object PUT to the "CDN" port, as to S3) and its verify."""
        if not self._authorized(handler, method):
            return
        with self._lock:
            known = _key(repo_type, repo_id) in self._repos
        if not known:
            self._send_json(handler, method, 404, {"error": "Repository not found"}, error_code="RepoNotFound")
            return
        payload = self._json_body(handler, method)
        if payload is None:
            return
        if verify:
            with self._lock:
                stored = self._lfs_objects.get(payload.get("oid"))
            if stored is None or len(stored[0]) != payload.get("size"):
                self._send_json(handler, method, 404, {"error": "Object not found"})
            else:
                self._send_json(handler, method, 200, {})
            return
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
            self._send_json(handler, method, 422, {"message": "only uploads with the basic transfer are served"})
            return
        objects = []
        verify_url = f"{self._repo_url(repo_type, repo_id)}{_LFS_VERIFY}"
        for item in payload.get("objects", []):
            oid, size = item["oid"], int(item["size"])
            with self._lock:
                stored = self._lfs_objects.get(oid)
                if stored is None:
                    self._lfs_expected[oid] = size
            if stored is not None and len(stored[0]) == size:
                objects.append({"oid": oid, "size": size})  # already there: nothing to send
                continue
            actions = {"upload": {"href": f"{self.cdn_url}/lfs-upload/{oid}"},
                       "verify": {"href": verify_url, "header": {}}}
            objects.append({"oid": oid, "size": size, "authenticated": True, "actions": actions})
        self._send_json(handler, method, 200, {"transfer": "basic", "objects": objects})

    def _handle_lfs_put(self, handler: _Handler, method: str, oid: str) -> None:
        body = handler.body
        with self._lock:
            expected = self._lfs_expected.get(oid)
        if expected is None or len(body) != expected or hashlib.sha256(body).hexdigest() != oid:
            self._send(handler, method, 400, {"Content-Type": "text/plain"}, b"BadDigest")
            return
        with self._lock:
            self._lfs_objects.setdefault(oid, (body, set()))
            self._lfs_expected.pop(oid, None)
        self._send(handler, method, 200, {"ETag": f'"{oid}"'}, b"")

    def _handle_commit(
        self, handler: _Handler, method: str, repo_type: str, repo_id: str, revision: str, query: dict[str, list[str]]
    ) -> None:
        """The NDJSON commit API: a header, then files (inline or LFS) and deletions, applied at once or not at all."""
        head = self._lookup(handler, method, repo_type, repo_id, revision)
        if head is None:
            return
        with self._lock:
            is_branch = revision in self._repos[_key(repo_type, repo_id)].branches
        if not is_branch:
            self._send_json(handler, method, 400, {"error": f"Invalid rev id: {revision} is not a branch"})
            return
        if query.get("create_pr"):
            self._send_json(handler, method, 501, {"error": "pull requests are not emulated"})
            return
        try:
            lines = [json.loads(line) for line in handler.body.splitlines() if line.strip()]
        except ValueError:
            self._send_json(handler, method, 400, {"error": "Invalid NDJSON body"})
            return
        if not lines or lines[0].get("key") != "header" or not lines[0]["value"].get("summary"):
            self._send_json(handler, method, 400, {"error": "the first line must be the header, with a summary"})
            return
        header = lines[0]["value"]
        if header.get("parentCommit") not in (None, head.sha):
            stale = {"error": "A commit has happened since. Please refresh and try again."}
            self._send_json(handler, method, 412, stale)
            return
        files = dict(head.files)
        changes: dict[str, _Blob | None] = {}

        def refuse(status: int, message: str, code: str | None = None) -> None:
            self._send_json(handler, method, status, {"error": message}, error_code=code)

        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            path = str(value.get("path", "")).strip("/")
            if key == "file":
                content = value["content"]
                content = base64.b64decode(content) if value.get("encoding") == "base64" else content.encode()
                if self._goes_to_lfs(head, path, content[:512], len(content)):
                    return refuse(400, f"Your push was rejected because {path} is a binary file: store it with LFS")
                changes[path] = files[path] = _Blob.of(content, False)
            elif key == "lfsFile":
                with self._lock:
                    stored = self._lfs_objects.get(value.get("oid"))
                if stored is None or ("size" in value and len(stored[0]) != value["size"]):
                    return refuse(422, f"LFS object {value.get('oid')} of {path} was never uploaded")
                changes[path] = files[path] = _Blob.of(stored[0], True)
            elif key == "deletedFile":
                if path not in files:
                    return refuse(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                del files[path]
                changes[path] = None
            elif key == "deletedFolder":
                inside = [name for name in files if name.startswith(path + "/")]
                if not inside:
                    return refuse(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                for name in inside:
                    del files[name]
                    changes[name] = None
            else:
                return refuse(400, f"Unknown commit operation: {key}")
        with self._lock:
            sha = self._commit(repo_type, repo_id, changes, revision, header["summary"])
        url = f"{self._repo_url(repo_type, repo_id)}/commit/{sha}"
        done = {"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": None}
        self._send_json(handler, method, 200, done)

    # ------------------------------------------------------------------ low-level writing
    def _send_json(
        self,
        handler: _Handler,
        method: str,
        status: int,
        payload,
        *,
        error_code: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", **(extra or {})}
        if error_code is not None:
            headers["X-Error-Code"] = error_code
            headers["X-Error-Message"] = payload.get("error", error_code)
        self._send(handler, method, status, headers, json.dumps(payload).encode())

    @staticmethod
    def _send(
        handler: _Handler,
        method: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
        *,
        content_length: int | None = None,
        close: bool = False,
    ) -> None:
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        if close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if method != "HEAD" and body:
            handler.wfile.write(body)
        handler.wfile.flush()
