"""segdemo.deploy: the Space gets the tracked tree less the twins' weights, through the Hub's upload protocol.

And the app runs from what the Space then holds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from huggingface_hub import constants, snapshot_download

from conftest import ROOT, free_port, start_app, stop_app
from hub_server import HubServer
from segdemo import deploy


@pytest.fixture(scope="module")
def space_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("space") / "space"
    assert deploy.main(["--space", "someone/segdemo", "--dry-run", str(folder)]) == 0
    return folder


NOT_FOR_THE_SPACE = ("tests/", "benchmarks/", "twins/", "scripts/", ".ci/", "requirements-dev.txt")


def test_the_space_gets_every_tracked_file_but_what_it_never_runs(space_folder):
    """The tests, benchmarks, twins, scripts, CI and development requirements stay behind: nothing at run time
    reads them and neither the README nor docs/ links to them."""
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split())
    sent = {str(path.relative_to(space_folder)) for path in space_folder.rglob("*") if path.is_file()}
    left_out = tracked - sent
    assert left_out == {name for name in tracked if name.startswith(NOT_FOR_THE_SPACE)}
    assert {name.split("/")[0] for name in left_out} == {"tests", "benchmarks", "twins", "scripts", ".ci",
                                                          "requirements-dev.txt"}
    assert sent <= tracked  # nothing untracked: no .venv, runs/, artifacts/ or caches
    for needed in ("app.py", "requirements.txt", "README.md", "segdemo/ui.py", "weights/fcn8s_lite/model.safetensors",
                   "weights/bayesian_segnet_lite/model.safetensors", "examples/camvid_0006R0_f01290.jpg"):
        assert needed in sent
    assert (space_folder / "README.md").read_text().startswith("---\ntitle:")  # the Space's configuration block


def test_the_spaces_readme_is_the_repositorys_with_its_link_preview_as_thumbnail(space_folder):
    """The one line a Space's README has beyond the repository's: the link preview at the Space's address on the
    Hub (the dry run's Space, someone/segdemo), a picture the Space gets, as large as social sites show one."""
    from huggingface_hub.repocard import metadata_load
    from PIL import Image

    sent, ours = (space_folder / "README.md").read_text(), (ROOT / "README.md").read_text()
    added = sorted(set(sent.splitlines()) - set(ours.splitlines()))
    url = f"{constants.ENDPOINT}/spaces/someone/segdemo/resolve/main/docs/link-preview.jpg"
    assert added == [f"thumbnail: {url}"] and len(sent.splitlines()) == len(ours.splitlines()) + 1
    assert metadata_load(space_folder / "README.md")["thumbnail"] == url
    with Image.open(space_folder / "docs" / "link-preview.jpg") as picture:
        assert picture.format == "JPEG" and picture.size == (1200, 630)


def test_the_space_gets_the_licence_its_readme_names(space_folder):
    """The README's block says `license: mit` and the repository had no LICENSE: the Space gets the MIT text, and
    the model cards publish writes name the same licence."""
    from huggingface_hub.repocard import metadata_load

    from segdemo import publish

    assert metadata_load(ROOT / "README.md")["license"] == publish.LICENSE == "mit"
    sent = (space_folder / "LICENSE").read_text()
    assert sent.startswith("MIT License\n\nCopyright (c) 2026 the segdemo authors\n")
    assert "Permission is hereby granted, free of charge" in sent and sent == (ROOT / "LICENSE").read_text()


def test_what_the_space_shows_links_to_nothing_left_behind(space_folder):
    """The Space shows its README, and docs/ among its files: no relative link of theirs leads into what is not
    sent (a link into tests/ or twins/ would break there)."""
    for page in [space_folder / "README.md", *sorted((space_folder / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            linked = (page.parent / target).resolve()
            assert linked.exists(), f"{page.name} links to {target}, which the Space does not get"


def test_the_readme_opens_with_what_the_demo_is_and_a_picture(space_folder):
    """A curator reads the Space's README from the top: its first paragraph says what the demo is, and a picture
    the Space holds follows it, before the long list of what each map shows."""
    body = (space_folder / "README.md").read_text().split("\n---\n", 1)[1]
    blocks = [block.strip() for block in body.split("\n\n") if block.strip()]
    assert blocks[0].startswith("# ") and "semantic-segmentation" in blocks[1]
    picture = re.fullmatch(r"!\[[^\]]+\]\(([^)\s]+)\)", blocks[2])
    assert picture, f"the paragraph after the README's first is not a picture: {blocks[2][:80]!r}"
    assert (space_folder / picture.group(1)).is_file()


def test_the_readme_says_how_much_the_space_gets(space_folder):
    """The README's "N files, X MB today" stays within 10% of what a deploy sends (it is typed by hand)."""
    said = re.search(r"(\d+) files, ([\d.]+) MB today", (ROOT / "README.md").read_text().replace("\n", " "))
    assert said, "the README's Deploying section no longer says how many files the Space gets"
    files = [path for path in space_folder.rglob("*") if path.is_file()]
    megabytes = sum(path.stat().st_size for path in files) / 1e6
    assert abs(int(said.group(1)) - len(files)) <= 0.1 * len(files), f"the Space gets {len(files)} files"
    assert abs(float(said.group(2)) - megabytes) <= 0.1 * megabytes, f"the Space gets {megabytes:.1f} MB"


def test_a_folder_with_files_in_it_is_refused(tmp_path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        deploy.main(["--space", "someone/segdemo", "--dry-run", str(tmp_path)])


# The upload itself, through real huggingface_hub against the local Hub server (tests/hub_server.py), which
# speaks the Hub's upload protocol. hf_xet would send the binaries to Xet storage, which it does not serve:
# the client then takes its LFS path (HF_HUB_DISABLE_XET). What the Hub's own servers do beyond that
# protocol (build the Space, run it) is not emulated; the app is started from what the Hub holds instead.

TOKEN = "hf_local_test_token"
SPACE = "someone/segdemo"


@pytest.fixture(scope="module")
def hub():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_DISABLE_XET", True)
        with HubServer() as server:
            yield server


@pytest.fixture(scope="module")
def deployed(hub):
    assert deploy.main(["--space", SPACE, "--token", TOKEN, "--endpoint", hub.url]) == 0
    return hub


def test_the_space_holds_the_tree_with_its_binaries_in_lfs(deployed):
    held = deployed.files(SPACE, repo_type="space")
    assert set(held) == {*deploy.space_files(), ".gitattributes"}
    assert all(held[name] == (ROOT / name).read_bytes() for name in deploy.space_files() if name != "README.md")
    assert held["README.md"].decode() == deploy.with_thumbnail((ROOT / "README.md").read_text(),
                                                                deploy.link_preview_url(SPACE, deployed.url))
    binaries = {name for name in deploy.space_files() if name.endswith((".safetensors", ".png", ".jpg", ".webp"))}
    assert len(binaries) > 20 and binaries <= deployed.lfs_files(SPACE, repo_type="space")
    assert deployed.commits(SPACE, repo_type="space") == ["Deploy segdemo", "initial commit"]


def test_the_app_runs_from_what_the_hub_holds(deployed, tmp_path):
    """A clone of the Space, as its build would have it, starts and answers /segment on the bundled weights."""
    clone = Path(snapshot_download(SPACE, repo_type="space", endpoint=deployed.url, local_dir=tmp_path / "clone",
                                   cache_dir=tmp_path / "cache"))
    process, url, _ = start_app({"SEGDEMO_OFFLINE": "1"}, cwd=clone)
    try:
        figures = Client(url, verbose=False).predict(
            handle_file(str(clone / "examples" / "camvid_0006R0_f01290.jpg")), "fcn8s_lite", 0.5, 1, 0,
            api_name="/segment",
        )[7]
        assert figures["output_size"] == [480, 360] and figures["weights"].startswith("bundled copy in weights/")
    finally:
        stop_app(process)


def test_a_link_to_the_spaces_page_on_the_hub_previews_as_the_app(deployed, tmp_path):
    """The Space's README names its link preview as the thumbnail that a link to its page on the Hub shows (the
    Hub's configuration key ``thumbnail``): the URL, fetched as a social site would, is the picture the Space
    holds, served by the Hub's resolve route."""
    import requests
    from huggingface_hub.repocard import metadata_load

    card = tmp_path / "README.md"
    card.write_bytes(deployed.files(SPACE, repo_type="space")["README.md"])
    thumbnail = metadata_load(card)["thumbnail"]
    assert thumbnail == f"{deployed.url}/spaces/{SPACE}/resolve/main/docs/link-preview.jpg"
    fetched = requests.get(thumbnail, timeout=10)
    assert fetched.status_code == 200 and fetched.content == (ROOT / "docs" / "link-preview.jpg").read_bytes()


def test_a_readme_that_names_a_thumbnail_keeps_it():
    readme = "---\ntitle: A\nthumbnail: https://example.org/mine.png\n---\n\n# A\n"
    assert deploy.with_thumbnail(readme, "https://elsewhere/x.jpg") == readme
    assert deploy.with_thumbnail(readme.replace("thumbnail: https://example.org/mine.png\n", ""), "U") == (
        "---\ntitle: A\nthumbnail: U\n---\n\n# A\n")


def test_a_redeploy_removes_what_the_tree_no_longer_has_and_keeps_the_hubs_gitattributes(deployed):
    attributes = deployed.files(SPACE, repo_type="space")[".gitattributes"]
    attributes += b"*.mp4 filter=lfs diff=lfs merge=lfs -text\n"
    deployed.add_commit(SPACE, {"segdemo/old_module.py": b"x = 1\n", "docs/old [draft]*.png": b"\0png",
                                ".gitattributes": attributes, "app.py": b"print('edited on the Hub')\n"},
                        repo_type="space", message="edited on the Hub")
    assert deploy.main(["--space", SPACE, "--token", TOKEN, "--endpoint", deployed.url]) == 0
    held = deployed.files(SPACE, repo_type="space")
    assert set(held) == {*deploy.space_files(), ".gitattributes"}  # the odd name too: it was escaped, not matched
    assert held[".gitattributes"] == attributes and held["app.py"] == (ROOT / "app.py").read_bytes()

    commits = deployed.commits(SPACE, repo_type="space")
    assert deploy.main(["--space", SPACE, "--token", TOKEN, "--endpoint", deployed.url]) == 0
    assert deployed.commits(SPACE, repo_type="space") == commits  # nothing changed: no commit


def test_a_deploy_that_cannot_upload_says_why_without_a_traceback(hub, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # no saved login either
    refused = r"could not deploy to the Space someone/other: the Hub refused the token \(401"
    with pytest.raises(SystemExit, match=refused):
        deploy.main(["--space", "someone/other", "--endpoint", hub.url])
    with pytest.raises(SystemExit, match="the Hub could not be reached"):
        deploy.main(["--space", "someone/other", "--token", TOKEN, "--endpoint", f"http://127.0.0.1:{free_port()}"])


def test_the_readme_configuration_keeps_the_hubs_rules():
    assert deploy.configuration_problems() == []


def test_the_readme_block_names_the_task_and_the_free_hardware_the_space_runs_on():
    """The Hub lists and searches Spaces by their tags, and a duplicate's dialog offers suggested_hardware: the
    Space is a segmentation demo, measured and served on a free 2-vCPU Space."""
    from huggingface_hub.repocard import metadata_load

    metadata = metadata_load(ROOT / "README.md")
    assert {"semantic-segmentation", "image-segmentation", "camvid"} <= set(metadata.get("tags", []))
    assert metadata.get("suggested_hardware") == "cpu-basic"


@pytest.mark.parametrize("edit, refused", [
    (("short_description: FCN and SegNet on road scenes, with their uncertainty",
      "short_description: FCN and SegNet on road scenes, with confidence and boundary uncertainty"),
     "short_description is 71 characters; the Hub takes 60 at most"),
    (("short_description: FCN and SegNet on road scenes, with their uncertainty",
      "short_description: FCN vs SegNet: road scenes"), "not valid YAML"),
    (("colorTo: gray", "colorTo: grey"), "colorTo is 'grey'"),
    (("suggested_hardware: cpu-basic", "suggested_hardware: cpu-free"),
     "suggested_hardware is 'cpu-free', not one of the Hub's hardware flavours"),
    (("sdk_version: 6.31.0", "sdk_version: 6.30.0"),
     "sdk_version is '6.30.0' where requirements.txt pins gradio 6.31.0"),
])
def test_a_configuration_the_hub_would_refuse_is_refused_before_anything_is_written(tmp_path, edit, refused):
    """The Hub refuses such a README's upload (a 71-character short_description was in this one): the deploy stops
    first, in one sentence, dry run included."""
    readme = (ROOT / "README.md").read_text()
    assert edit[0] in readme
    (tmp_path / "README.md").write_text(readme.replace(edit[0], edit[1]))
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    with pytest.raises(SystemExit, match=re.escape(refused)):
        deploy.check_configuration(tmp_path)


def test_the_hub_server_refuses_what_the_hub_refuses(hub):
    """The local Hub's validate-yaml keeps the Hub's rules for a Space's block, so an upload test meets them."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=TOKEN)
    long = "---\ntitle: x\nsdk: gradio\nshort_description: " + "x" * 61 + "\n---\n"
    with pytest.raises(ValueError, match="short_description.*60 characters"):
        api._validate_yaml(long, repo_type="space")
    api._validate_yaml(long, repo_type="model")  # the rule is a Space's
    api._validate_yaml(long.replace("x" * 61, "x" * 60), repo_type="space")


def test_the_hubs_own_refusal_of_the_readme_is_one_sentence(monkeypatch):
    def refused(*args, **kwargs):  # huggingface_hub's words, with the Hub's after them
        raise ValueError('Invalid metadata in README.md.\n- "license" must be one of [apache-2.0, mit, ...]')

    monkeypatch.setattr(deploy, "deploy", refused)
    said = r"the Hub refused README.md's configuration block \(\"license\" must be one of"
    with pytest.raises(SystemExit, match=said):
        deploy.main(["--space", SPACE, "--token", TOKEN, "--endpoint", "http://127.0.0.1:9"])
