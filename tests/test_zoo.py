"""SEGDEMO_ZOO: a file that points the Space at other Hub repos. A wrong entry is refused with a sentence and that
model is served from its bundled copy; nothing in the file stops the app."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
import torch

from segdemo.zoo import ZOO, load_model, load_zoo, zoo_entries

SHA = "a" * 40
SHA256 = "b" * 64


@pytest.fixture
def zoo_file(tmp_path, monkeypatch):
    """Write ``content`` (JSON-encoded unless text) as the SEGDEMO_ZOO file."""
    path = tmp_path / "zoo.json"
    monkeypatch.setenv("SEGDEMO_ZOO", str(path))
    monkeypatch.delenv("SEGDEMO_OFFLINE", raising=False)

    def write(content) -> None:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))

    return write


def test_a_right_entry_is_taken(zoo_file):
    zoo_file({"fcn8s_lite": {"repo_id": "you/fcn", "revision": SHA, "sha256": SHA256, "label": "FCN (mine)"}})
    entry = zoo_entries()["fcn8s_lite"]
    assert (entry.repo_id, entry.revision, entry.sha256, entry.label, entry.refused) == \
        ("you/fcn", SHA, SHA256, "FCN (mine)", None)


@pytest.mark.parametrize(
    "fields,said",
    [
        ({"revision": 123}, "revision 123 is not a commit sha: pin a commit"),  # was a TypeError at start-up
        ({"sha256": 5}, "sha256 must be the 64 hex digits segdemo.publish prints, not 5"),  # an AttributeError
        ("you/fcn", 'it must be an object with repo_id, revision, sha256, label, not "you/fcn"'),  # AttributeError
        ({"revison": SHA}, 'unknown key "revison" (the keys are repo_id, revision, sha256, label)'),  # dropped
        ({"repo_id": "fcn"}, 'repo_id must be a Hub repo id, "owner/name", not "fcn"'),
        ({"repo_id": ["you/fcn"]}, "repo_id must be a Hub repo id"),
        ({"revision": "main"}, "revision 'main' is not a commit sha: pin a commit"),
        ({"sha256": "abc"}, "sha256 must be the 64 hex digits"),
        ({"label": 7}, "label must be a non-empty string, not 7"),
        (None, "it must be an object"),
        # the shipped model's sha256 was kept: a fork's checkpoint failed its integrity check against it
        ({"repo_id": "you/fcn", "revision": SHA}, "sha256 is required with a repo_id or revision: the shipped "
         "model's sha256 would refuse any other checkpoint (segdemo.publish prints the sha256 with the revision)"),
        ({"revision": SHA}, "sha256 is required with a repo_id or revision"),
        ({"repo_id": "you/fcn", "label": "FCN (mine)"}, "sha256 is required with a repo_id or revision"),
    ],
)
def test_a_wrong_entry_is_refused_and_the_bundled_copy_serves(zoo_file, caplog, fields, said):
    zoo_file({"fcn8s_lite": fields, "bayesian_segnet_lite": {"label": "still mine"}})
    with caplog.at_level(logging.ERROR, logger="segdemo.zoo"):
        entries = zoo_entries()
    assert entries["fcn8s_lite"].refused.startswith(f"its SEGDEMO_ZOO entry was refused: {said}")
    assert "refusing SEGDEMO_ZOO entry 'fcn8s_lite'" in caplog.text and said in caplog.text
    assert entries["bayesian_segnet_lite"].label == "still mine"  # the others are taken
    model = load_model(entries["fcn8s_lite"], torch.device("cpu"))
    assert model.ready and model.describe() == \
        f"bundled copy in weights/fcn8s_lite (Hub copy not used: {entries['fcn8s_lite'].refused})"


@pytest.mark.parametrize(
    "content,said",
    [
        ([{"fcn8s_lite": {}}], "must be a JSON object of model names to entries, not list"),
        ("[1, 2]", "must be a JSON object of model names to entries, not list"),
        ("{not json", "is not JSON (Expecting property name enclosed in double quotes"),
        ("7", "must be a JSON object of model names to entries, not int"),
        ('"text"', "must be a JSON object of model names to entries, not str"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
)
def test_a_file_that_is_no_zoo_refuses_every_entry_with_its_reason(zoo_file, caplog, content, said):
    zoo_file(content)
    with caplog.at_level(logging.ERROR, logger="segdemo.zoo"):
        entries = zoo_entries()
    assert "refusing SEGDEMO_ZOO=" in caplog.text and said in caplog.text
    for name, entry in entries.items():
        assert entry.refused.startswith(f"the SEGDEMO_ZOO file zoo.json {said}")
        assert replace(entry, refused=None) == ZOO[name]  # nothing else taken from it


@pytest.mark.parametrize("where,said", [("zoo.jsn", "could not be read (no such file or directory)"),
                                        (".", "could not be read (is a directory)")])
def test_a_missing_or_unreadable_file_is_said_on_the_models_tab(tmp_path, monkeypatch, caplog, where, said):
    """A typo (SEGDEMO_ZOO=zoo.jsn) or a folder was logged, and the Models tab said "Hub copy not used: it is not
    published on the Hub yet", which it was: the page now says what is wrong with the file."""
    from segdemo.captions import models_markdown

    path = tmp_path / where
    monkeypatch.setenv("SEGDEMO_ZOO", str(path))
    monkeypatch.delenv("SEGDEMO_OFFLINE", raising=False)
    with caplog.at_level(logging.ERROR, logger="segdemo.zoo"):
        loaded = load_zoo(device=torch.device("cpu"))
    assert f"refusing SEGDEMO_ZOO={path}: it {said}" in caplog.text
    page = models_markdown(loaded)
    for model in loaded.values():
        assert model.ready and model.source.startswith("bundled copy")
        assert model.describe().endswith(f"(Hub copy not used: the SEGDEMO_ZOO file {path.name} {said})")
        assert model.describe() in page
    assert "not published on the Hub yet" not in page and str(tmp_path) not in page


def test_the_app_starts_whatever_the_file_holds(zoo_file):
    zoo_file({"fcn8s_lite": {"revision": 123, "sha256": 5}, "bayesian_segnet_lite": "x", "nosuch": {}})
    loaded = load_zoo(device=torch.device("cpu"))
    assert all(model.ready and model.source.startswith("bundled copy") for model in loaded.values())
    assert "SEGDEMO_ZOO entry was refused" in loaded["bayesian_segnet_lite"].describe()


def test_a_fork_without_its_sha256_is_refused_on_the_models_tab_and_in_the_log(zoo_file, caplog):
    """A fork's repo and revision without a sha256 was taken with the shipped model's sha256, and its retrained
    checkpoint then failed "its integrity check (... expected <shipped>)": the entry is refused, saying why."""
    from segdemo.captions import models_markdown

    zoo_file({"fcn8s_lite": {"repo_id": "you/fcn", "revision": SHA}})
    with caplog.at_level(logging.ERROR, logger="segdemo.zoo"):
        loaded = load_zoo(["fcn8s_lite"], device=torch.device("cpu"))
    said = "sha256 is required with a repo_id or revision"
    assert loaded["fcn8s_lite"].entry.sha256 == ZOO["fcn8s_lite"].sha256  # the shipped entry, untouched
    assert f"Hub copy not used: its SEGDEMO_ZOO entry was refused: {said}" in models_markdown(loaded)
    assert "refusing SEGDEMO_ZOO entry 'fcn8s_lite'" in caplog.text and said in caplog.text


@pytest.mark.parametrize("offline,level", [(False, logging.WARNING), (True, logging.INFO)])
def test_a_pin_that_falls_back_to_the_bundled_copy_is_a_warning(zoo_file, caplog, monkeypatch, tmp_path, offline,
                                                               level):
    """A Space pinned to a commit and serving its bundled copy was logged at INFO, among the start-up lines; an
    unpublished model, or SEGDEMO_OFFLINE=1, is as meant and stays INFO."""
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # the pin cannot be fetched
    if offline:
        monkeypatch.setenv("SEGDEMO_OFFLINE", "1")
    zoo_file({"fcn8s_lite": {"repo_id": "you/fcn", "revision": SHA, "sha256": SHA256}})
    with caplog.at_level(logging.INFO, logger="segdemo.zoo"):
        load_zoo(device=torch.device("cpu"), cache_dir=tmp_path / "cache")
    levels = {record.getMessage().split(":")[0]: record.levelno for record in caplog.records}
    assert levels == {"fcn8s_lite": level, "bayesian_segnet_lite": logging.INFO}, caplog.text


def test_a_built_in_revision_that_is_not_a_commit_is_refused(monkeypatch):
    """The check is at loading too, for the built-in zoo (segdemo/zoo.py) as for a file."""
    from dataclasses import replace

    monkeypatch.delenv("SEGDEMO_OFFLINE", raising=False)
    model = load_model(replace(ZOO["fcn8s_lite"], revision="main"), torch.device("cpu"))
    assert model.ready and "revision 'main' is not a commit sha: pin a commit" in model.describe()


def test_weights_bundled_from_another_folder_are_named_so(tmp_path, monkeypatch):
    """SEGDEMO_WEIGHTS=DIR bundles from DIR, and the info line said weights/ all the same."""
    import shutil

    from segdemo import zoo

    folder = tmp_path / "other_weights"
    shutil.copytree(zoo.WEIGHTS_DIR / "fcn8s_lite", folder / "fcn8s_lite")
    monkeypatch.setenv("SEGDEMO_OFFLINE", "1")
    monkeypatch.setattr(zoo, "WEIGHTS_DIR", folder)
    model = load_model(ZOO["fcn8s_lite"], torch.device("cpu"))
    assert model.ready and model.describe().startswith("bundled copy in other_weights/fcn8s_lite (SEGDEMO_WEIGHTS)")
    assert str(tmp_path) not in model.describe()


def test_a_visitor_is_not_told_of_a_hub_copy_never_published_as_a_failure():
    """Under every result: "Weights: bundled copy in weights/fcn8s_lite (Hub copy not used: it is not published on the
    Hub yet)", which a visitor read as something gone wrong. The Models tab, the Space owner's, still says it; a real
    fallback (a Hub copy that failed) is said to both."""
    from segdemo.zoo import NOT_PUBLISHED, LoadedModel
    unpublished = LoadedModel(None, None, source="bundled copy in weights/fcn8s_lite", fallbacks=[NOT_PUBLISHED])
    assert unpublished.describe_for_visitors() == "bundled copy in weights/fcn8s_lite"
    assert NOT_PUBLISHED in unpublished.describe()
    failed = LoadedModel(None, None, source="bundled copy in weights/fcn8s_lite", fallbacks=["the Hub is unreachable"])
    assert failed.describe_for_visitors() == failed.describe()
