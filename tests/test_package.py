"""segdemo as a library: the Space's repository installs it, and a published model card's snippet runs as printed.

A visitor of a published checkpoint reads its card (``segdemo.publish``), installs segdemo from the Space
(``pip install "segdemo @ git+https://huggingface.co/spaces/OWNER/segdemo"``: what pip builds is the Space's
files, which ``segdemo.deploy --dry-run`` writes) and runs the card's Python. Here the wheel is built from that
folder, unpacked away from this checkout, and the snippet run in a fresh interpreter against the local Hub server,
with the app's dependencies (Gradio, torchvision, matplotlib...) made unimportable: the core dependencies in
pyproject.toml must be enough.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, constants, hf_hub_download
from packaging.requirements import Requirement
from PIL import Image

from conftest import ROOT
from hub_server import HubServer
from segdemo import deploy, publish
from segdemo.checkpoints import load_checkpoint
from segdemo.inference import predict
from segdemo.zoo import WEIGHTS_DIR

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# requirements.txt's packages that only the app, training and evaluation import (the [app] extra)
APP_ONLY = ("gradio", "gradio_client", "torchvision", "matplotlib", "spaces", "safehttpx")
PICTURE = ROOT / "examples" / "camvid_0006R0_f01290.jpg"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from the Space's files, as `pip install git+<the Space>` does after cloning it."""
    space = tmp_path_factory.mktemp("space")
    assert deploy.main(["--space", "someone/segdemo", "--dry-run", str(space)]) == 0
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out),
         str(space)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("segdemo-*.whl")
    return found


def test_the_wheel_holds_the_package_with_its_page_files_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tracked = subprocess.run(["git", "ls-files", "segdemo"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    assert set(tracked) <= set(names)  # every module, the CSS and scripts the page reads, segdemo/data, models/
    assert {n.split("/")[0] for n in names} == {"segdemo", wheel.name.split("-py")[0] + ".dist-info"}
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: torch>=2.11" in text and "Provides-Extra: app" in text
    assert re.search(r"Requires-Dist: gradio.*extra == \"app\"", text)


def test_pyproject_asks_for_what_requirements_txt_pins():
    """requirements.txt pins what the Space installs; pyproject.toml's ranges must admit each pin and name the same
    packages, core and [app] together, so that the two never drift apart."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            pins[requirement.name.lower().replace("_", "-")] = requirement
    declared = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    declared += [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["app"]]
    assert sorted(r.name.lower().replace("_", "-") for r in declared) == sorted(pins)
    for requirement in declared:
        pin = pins[requirement.name.lower().replace("_", "-")]
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if exact:
            assert requirement.specifier.contains(exact[0]), f"{requirement} refuses requirements.txt's {pin}"
    core = {Requirement(r).name.lower() for r in PYPROJECT["project"]["dependencies"]}
    assert not core & set(APP_ONLY)


BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{{name}} is not installed here (segdemo's [app] extra)", name=name)
        return None
sys.meta_path.insert(0, Blocker())
"""


def card_snippet(card_text: str) -> str:
    (snippet,) = re.findall(r"```python\n(.*?)```", card_text, flags=re.DOTALL)
    return snippet


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_the_cards_snippet_runs_as_printed_on_the_installed_package(name, wheel, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the server speaks LFS, not Xet (hub_server.py)
    repo = f"someone/{name.replace('_', '-')}-camvid"
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)  # a pure-Python wheel: unpacking it is installing it
    (tmp_path / "blocker").mkdir()
    (tmp_path / "blocker" / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(APP_ONLY)))
    work = tmp_path / "work"
    work.mkdir()
    Image.open(PICTURE).save(work / "street.jpg", quality=95)

    with HubServer() as server:
        assert publish.main(["--model", name, "--repo", repo, "--token", "hf_local_test_token",
                             "--endpoint", server.url]) == 0
        card = ModelCard.load(hf_hub_download(repo, "README.md", endpoint=server.url, cache_dir=tmp_path / "c0"))
        snippet = card_snippet(card.text)
        script = snippet + "\nimport segdemo, gradio_free\nprint('from', segdemo.__file__)\n"
        (tmp_path / "blocker" / "gradio_free.py").write_text(
            "import sys\nassert not {m.split('.')[0] for m in sys.modules} & %r\n" % set(APP_ONLY))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTHON"))}
        env.update(HF_ENDPOINT=server.url, HF_HUB_CACHE=str(tmp_path / "cache"), HF_HUB_DISABLE_XET="1",
                   HF_HUB_DISABLE_TELEMETRY="1",
                   PYTHONPATH=os.pathsep.join([str(tmp_path / "blocker"), str(installed)]))
        ran = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True,
                             timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.strip().splitlines()
    assert lines[-1] == f"from {installed / 'segdemo' / '__init__.py'}"  # not this checkout's segdemo

    # the same lines as the bundled weights give here, through the same steps
    checkpoint = load_checkpoint(WEIGHTS_DIR / name)
    result = predict(Image.open(work / "street.jpg").convert("RGB"), checkpoint)
    names = checkpoint.config["class_names"]
    expected = [f"{names[index]}: {share:.0%} of the picture" for index, share in result.class_shares()[:3]]
    assert lines[:-1] == expected + [f"{result.confidence.mean():.0%} sure on average"]
    assert "(https://huggingface.co/spaces/someone/segdemo)" in card.text
    assert 'pip install "segdemo @ git+https://huggingface.co/spaces/someone/segdemo"' in card.text


def test_the_readmes_snippet_runs_as_printed(tmp_path):
    """The README's "In your own Python" block, from a folder holding street.jpg and the bundled weights."""
    (snippet,) = [block for block in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(),
                                                 flags=re.DOTALL) if "from segdemo.inference import predict" in block]
    Image.open(PICTURE).save(tmp_path / "street.jpg", quality=95)
    (tmp_path / "weights").symlink_to(WEIGHTS_DIR)
    script = snippet + "\nprint(tuple(result.labels.shape), result.samples, float(result.mutual_information.max()) > 0)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    height, width = Image.open(PICTURE).size[::-1]
    assert ran.stdout.split("\n")[0] == f"({height}, {width}) 8 True"
