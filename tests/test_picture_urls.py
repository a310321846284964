"""Pictures given as a URL: fetched from a real HTTP server on 127.0.0.1, within the upload's limits, every failure
explained, and the server's private network out of reach."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT
from segdemo.picture_urls import PictureURLError, fetch_picture, picture_url, served_here

PICTURE = (ROOT / "examples" / "camvid_0006R0_f01290.jpg").read_bytes()
LIMIT = 200_000  # bytes: more than the picture, far less than the endless answer sends
served: dict[str, object] = {}  # what the server saw: bytes sent before the client hung up, headers
GZIPPED = gzip.compress(PICTURE)
BOMB = gzip.compress(b"\0" * (64 * LIMIT), compresslevel=9)  # 12.8 MB of zeros in 13 kB


class Answers(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, kind: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path in ("/street.jpg", "/"):  # "/": where httpx sends "/street.jpg/.."
            self._send(200, PICTURE, "image/jpeg")
        elif path == "/moved":
            self._redirect("/street.jpg")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/gzipped.jpg":  # compressed although asked for as it is
            served["accept-encoding"] = self.headers.get("Accept-Encoding", "")
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(GZIPPED)))
            self.end_headers()
            self.wfile.write(GZIPPED)
        elif path in ("/bomb.jpg", "/brotli.jpg"):
            body = BOMB if path == "/bomb.jpg" else b"\x0b\x02\x80hello\x03"
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Encoding", "gzip" if path == "/bomb.jpg" else "br")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/page":
            self._send(200, b"<html><body><img src='/street.jpg'></body></html>", "text/html; charset=utf-8")
        elif path == "/announced-huge.jpg":
            self._send(200, b"", "image/jpeg", length=LIMIT + 1)
        elif path == "/endless.jpg":  # no length announced, and no end: only the client can stop it
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.end_headers()
            sent = 0
            try:
                while sent < 50 * LIMIT:
                    self.wfile.write(b"\xff" * 8192)
                    sent += 8192
            except (BrokenPipeError, ConnectionResetError):
                pass
            served["endless"] = sent
        elif path == "/slow.jpg":  # headers at once, then nothing for longer than the test's limit
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PICTURE)))
            self.end_headers()
            time.sleep(3)
        else:
            self._send(404, b"not here", "text/plain")


@pytest.fixture(scope="module")
def server() -> str:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def fetch(url: str, folder: Path, private_hosts: bool = True, seconds: float = 10.0) -> str:
    return asyncio.run(fetch_picture(url, folder, LIMIT, seconds=seconds, private_hosts=private_hosts))


def refusal(url: str, folder: Path, **kwargs) -> str:
    with pytest.raises(PictureURLError) as error:
        fetch(url, folder, **kwargs)
    return str(error.value)


def leftovers(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_picture_is_fetched_whole_and_named_after_its_url(server, tmp_path):
    path = fetch(f"{server}/street.jpg?size=large", tmp_path)
    assert Path(path).name == "street.jpg" and Path(path).read_bytes() == PICTURE
    assert leftovers(tmp_path) == [Path(path)]  # no partial file beside it


def test_a_redirect_is_followed_and_an_endless_one_is_not(server, tmp_path):
    assert Path(fetch(f"{server}/moved", tmp_path)).read_bytes() == PICTURE
    assert "redirected more than 10 times" in refusal(f"{server}/loop", tmp_path)


def test_a_file_larger_than_the_upload_limit_is_refused_before_it_is_read(server, tmp_path):
    message = refusal(f"{server}/announced-huge.jpg", tmp_path)
    assert "larger than" in message and "largest file the server accepts" in message
    assert leftovers(tmp_path) == []


def test_an_endless_answer_is_cut_off_at_the_limit_and_nothing_is_kept(server, tmp_path):
    """Gradio reads a URL's whole answer into memory: this one would never end."""
    message = refusal(f"{server}/endless.jpg", tmp_path)
    assert "larger than" in message
    assert leftovers(tmp_path) == []
    deadline = time.time() + 5
    while "endless" not in served and time.time() < deadline:
        time.sleep(0.05)
    assert served["endless"] < 50 * LIMIT  # the client hung up: the server did not send all it had


def test_a_compressed_answer_is_inflated_a_piece_at_a_time_and_a_gzip_bomb_stops_at_the_limit(server, tmp_path):
    """httpx inflates each piece it receives whole: 1 MB of gzip took +258 MB of peak memory that way."""
    assert Path(fetch(f"{server}/gzipped.jpg", tmp_path)).read_bytes() == PICTURE
    assert served["accept-encoding"] == "identity"  # asked for as it is
    assert "larger than" in refusal(f"{server}/bomb.jpg", tmp_path)
    assert "encoded as 'br'" in refusal(f"{server}/brotli.jpg", tmp_path)
    assert [path.name for path in leftovers(tmp_path)] == ["gzipped.jpg"]  # nothing of the refused two


def test_a_server_that_stops_answering_is_given_up_on(server, tmp_path):
    started = time.perf_counter()
    message = refusal(f"{server}/slow.jpg", tmp_path, seconds=1.0)
    assert time.perf_counter() - started < 2.5
    assert "took longer than 1 s" in message and "upload the file instead" in message
    assert leftovers(tmp_path) == []


def test_a_web_page_and_a_missing_file_are_explained(server, tmp_path):
    assert "is a web page, not a picture" in refusal(f"{server}/page", tmp_path)
    assert "answered 404 Not Found" in refusal(f"{server}/nothing.jpg", tmp_path)


def test_private_and_local_addresses_are_out_of_reach(server, tmp_path):
    """Without the tests' switch a loopback server is refused before it is asked: the rule Gradio itself keeps."""
    for url in (f"{server}/street.jpg", "http://localhost/street.jpg", "http://10.1.2.3/street.jpg",
                "http://169.254.169.254/latest/meta-data/", "http://[::1]/street.jpg", "http://0x7f000001/street.jpg"):
        assert "private or local address" in refusal(url, tmp_path, private_hosts=False), url
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.com/street.jpg", "http and https only"),
    ("http:///street.jpg", "names no server"),
    ("https://no-such-host.invalid/street.jpg", "Could not find the server 'no-such-host.invalid'"),
])
def test_urls_that_cannot_be_fetched_say_why(tmp_path, url, words):
    assert words in refusal(url, tmp_path, private_hosts=False)


@pytest.mark.parametrize(("url", "words"), [
    ("http://[bad/x.jpg", "is not a valid URL"),  # urlparse's ValueError ("Invalid IPv6 URL")
    ("http://example.com:99999/x.jpg", "is not a valid URL"),  # a port past 65535
    ("http://example.com:port/x.jpg", "is not a valid URL"),
])
def test_urls_that_are_no_urls_say_so(tmp_path, url, words):
    assert words in refusal(url, tmp_path, private_hosts=False)


@pytest.mark.parametrize(("text", "url"), [
    ("HTTPS://example.com/a.jpg", "https://example.com/a.jpg"),  # a scheme is case-insensitive (RFC 3986, 3.1)
    ("Https://example.com/A.jpg", "https://example.com/A.jpg"),  # the rest of the URL as it was
    (" https://example.com/a.jpg\n", "https://example.com/a.jpg"),  # spaces pasted with it
    ("http://example.com/a.jpg", "http://example.com/a.jpg"),
    ("/tmp/gradio/0123/street.jpg", None), ("street.jpg", None), ("C:\\street.jpg", None),  # paths, no URLs
])
def test_a_urls_scheme_is_read_in_any_case_and_a_path_is_no_url(text, url):
    """Gradio took only "http://" and "https://", as written, for a URL: "HTTPS://..." and " https://..." were
    refused as files on the server that a call may not read."""
    assert picture_url(text) == url


@pytest.mark.parametrize(("text", "instead"), [
    ("ftp://example.com/a.jpg", "send the file itself"), ("FILE:///etc/passwd", "send the file itself"),
    ("data:image/png;base64,AAAA", 'send a data: URL as "url", with "path": null'),
])
def test_a_url_of_another_scheme_is_refused_as_one(text, instead):
    """It had been refused as a file on the server that a call may not read."""
    with pytest.raises(PictureURLError) as error:
        picture_url(text)
    scheme = text.split(":")[0].lower()
    assert str(error.value).startswith(f"Pictures are fetched over http and https only, not {scheme}: URLs: "
                                       f"{instead}")


def test_a_url_written_in_upper_case_fetches_the_picture(server, tmp_path):
    path = fetch(picture_url(" HTTP" + server.removeprefix("http") + "/street.jpg"), tmp_path)
    assert Path(path).read_bytes() == PICTURE


def test_a_path_with_a_control_character_and_a_path_ending_in_dots_are_answered_in_words(server, tmp_path):
    """httpx's InvalidURL is no HTTPError and escaped; a path ending in ".." named the file "..", and the rename over
    a folder failed with the server's own paths in the message."""
    assert "Could not fetch the picture at" in refusal(f"{server}/street\x01.jpg", tmp_path)
    path = fetch(f"{server}/street.jpg/..", tmp_path)
    assert Path(path).name == "picture" and Path(path).read_bytes() == PICTURE


def test_a_message_never_repeats_a_urls_password_or_query(server, tmp_path):
    port = server.rsplit(":", 1)[1]
    message = refusal(f"http://user:secret@127.0.0.1:{port}/nothing.jpg?token=abc", tmp_path)
    assert "secret" not in message and "token" not in message and "user" not in message
    assert f"http://127.0.0.1:{port}/nothing.jpg" in message


def test_the_servers_log_never_holds_a_urls_password_or_query(server, tmp_path, caplog):
    """httpx logged each request at INFO with its whole URL: a visitor's token went into the Space's log."""
    port = server.rsplit(":", 1)[1]
    with caplog.at_level("INFO"):
        fetch(f"http://user:secret@127.0.0.1:{port}/street.jpg?token=abc", tmp_path)
        refusal(f"http://user:secret@127.0.0.1:{port}/nothing.jpg?token=abc", tmp_path)
    assert "secret" not in caplog.text and "token=abc" not in caplog.text


def test_an_upload_named_by_this_servers_file_route_is_the_file_itself(tmp_path):
    """``gradio upload-mcp`` answers an app on 127.0.0.1 with a URL on 127.0.0.1, which is never fetched: the file
    it names is used where it is, if it is one in the cache; nothing outside the cache, whatever the URL says."""
    cache = tmp_path / "cache"
    upload = cache / "2c6dea74" / "street photo.jpg"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(PICTURE)
    (tmp_path / "secret.jpg").write_bytes(PICTURE)
    route = "http://127.0.0.1:7860/gradio_api/file="
    assert served_here(route + str(upload), cache) == str(upload)
    assert served_here(route + str(upload).replace(" ", "%20"), cache) == str(upload)  # as encode_file_path sends
    assert served_here("https://someone-segdemo.hf.space/site/gradio_api/file=" + str(upload), cache) == str(upload)
    assert served_here(route + str(tmp_path / "secret.jpg"), cache) is None
    assert served_here(route + str(cache / "2c6dea74" / ".." / ".." / "secret.jpg"), cache) is None
    assert served_here(route + str(upload.parent), cache) is None  # a folder of the cache
    assert served_here(route + str(cache / "nothing.jpg"), cache) is None
    assert served_here(route + "/etc/passwd", cache) is None
    assert served_here("http://127.0.0.1:7860/gradio_api/upload", cache) is None
    (cache / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    assert served_here(route + str(cache / "link.jpg"), cache) is None
