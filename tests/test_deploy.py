"""segdemo.deploy: the files a Space gets are the tracked tree less the twins' weights, and the app runs from them alone."""

from __future__ import annotations

import subprocess

import pytest
from gradio_client import Client, handle_file

from conftest import ROOT, start_app, stop_app
from segdemo import deploy


@pytest.fixture(scope="module")
def space_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("space") / "space"
    assert deploy.main(["--space", "someone/segdemo", "--dry-run", str(folder)]) == 0
    return folder


def test_the_space_gets_every_tracked_file_but_the_twins_weights(space_folder):
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
    sent = {str(path.relative_to(space_folder)) for path in space_folder.rglob("*") if path.is_file()}
    left_out = tracked - sent
    assert left_out and all(name.startswith("twins/") and name.endswith(".safetensors") for name in left_out)
    assert sent <= tracked  # nothing untracked: no .venv, runs/, artifacts/ or caches
    for needed in ("app.py", "requirements.txt", "README.md", "segdemo/ui.py", "weights/fcn8s_lite/model.safetensors",
                   "weights/bayesian_segnet_lite/model.safetensors", "examples/camvid_0006R0_f01290.jpg"):
        assert needed in sent
    assert (space_folder / "README.md").read_text().startswith("---\ntitle:")  # the Space's configuration block


def test_the_app_runs_from_the_space_files_alone(space_folder):
    """What the Space starts: its own copy of app.py and segdemo, on the bundled weights."""
    process, url, _ = start_app({"SEGDEMO_OFFLINE": "1"}, cwd=space_folder)
    try:
        figures = Client(url, verbose=False).predict(
            handle_file(str(space_folder / "examples" / "camvid_0006R0_f01290.jpg")), "fcn8s_lite", 0.5, 1, 0,
            api_name="/segment",
        )[7]
        assert figures["output_size"] == [480, 360] and figures["weights"].startswith("bundled copy in weights/")
    finally:
        stop_app(process)


def test_a_folder_with_files_in_it_is_refused(tmp_path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        deploy.main(["--space", "someone/segdemo", "--dry-run", str(tmp_path)])


class RecordingHub:
    """Stands in for HfApi (no Hub is reachable from the tests): records the calls, and has a Space with an old file."""

    calls: list[tuple[str, dict]] = []

    def __init__(self, **kwargs):
        self.calls.append(("HfApi", kwargs))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/spaces/{repo_id}"

    def list_repo_files(self, repo_id, **kwargs):
        return [".gitattributes", "app.py", "segdemo/old_module.py"]

    def upload_folder(self, **kwargs):
        files = sorted(str(p.relative_to(kwargs["folder_path"])) for p in kwargs["folder_path"].rglob("*") if p.is_file())
        self.calls.append(("upload_folder", {**kwargs, "files": files}))

        class Commit:
            oid = "0" * 40

        return Commit()


def test_a_deploy_creates_a_gradio_space_uploads_the_files_and_deletes_what_the_tree_no_longer_has(monkeypatch):
    RecordingHub.calls = []
    monkeypatch.setattr(deploy, "HfApi", RecordingHub)
    assert deploy.main(["--space", "someone/segdemo", "--token", "hf_x"]) == 0
    calls = dict(RecordingHub.calls)
    assert calls["HfApi"]["token"] == "hf_x"
    assert calls["create_repo"]["repo_type"] == "space" and calls["create_repo"]["space_sdk"] == "gradio"
    upload = calls["upload_folder"]
    assert upload["repo_id"] == "someone/segdemo" and upload["repo_type"] == "space"
    assert upload["files"] == deploy.space_files()
    assert upload["delete_patterns"] == ["segdemo/old_module.py"]  # the Hub's .gitattributes stays
