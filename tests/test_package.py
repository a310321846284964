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

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard, constants, hf_hub_download
from packaging.requirements import Requirement
from PIL import Image

from conftest import ROOT
from hub_server import HubServer
from segdemo import deploy, publish
from segdemo.checkpoints import load_checkpoint
from segdemo.images import ImageError
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


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def run_installed(script: str, wheel: Path, tmp_path: Path, hub_url: str) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter in ``tmp_path/work`` (which holds street.jpg), on the wheel unpacked into
    ``tmp_path/site`` and never on this checkout, with the app's dependencies unimportable and the Hub at
    ``hub_url``. It ends by printing where segdemo came from."""
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)  # a pure-Python wheel: unpacking it is installing it
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(APP_ONLY)))
    (blocker / "app_free.py").write_text(
        "import sys\nassert not {m.split('.')[0] for m in sys.modules} & %r\n" % set(APP_ONLY))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "PYTHON"))}
    env.update(HF_ENDPOINT=hub_url, HF_HUB_CACHE=str(tmp_path / "cache"), HF_HUB_DISABLE_XET="1",
               HF_HUB_DISABLE_TELEMETRY="1", PYTHONPATH=os.pathsep.join([str(blocker), str(installed)]))
    script += ("\nimport segdemo, app_free\nfrom segdemo.visualize import class_map\n"  # the card's way to draw them
               "class_map(result.labels, checkpoint.config['palette']).save('labels.png')\n"
               "print('from', segdemo.__file__)\n")
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path / "work", env=env, capture_output=True,
                         text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip().splitlines()[-1] == f"from {installed / 'segdemo' / '__init__.py'}"  # not the checkout's
    with Image.open(tmp_path / "work" / "labels.png") as drawn:
        assert drawn.mode == "P" and drawn.size == Image.open(PICTURE).size
    return ran


@pytest.fixture
def street(tmp_path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    Image.open(PICTURE).save(work / "street.jpg", quality=95)
    return work / "street.jpg"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fcn8s_lite", "bayesian_segnet_lite"])
def test_the_cards_snippet_runs_as_printed_on_the_installed_package(name, wheel, street, tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the server speaks LFS, not Xet (hub_server.py)
    repo = f"someone/{name.replace('_', '-')}-camvid"
    with HubServer() as server:
        assert publish.main(["--model", name, "--repo", repo, "--token", "hf_local_test_token",
                             "--endpoint", server.url]) == 0
        card = ModelCard.load(hf_hub_download(repo, "README.md", endpoint=server.url, cache_dir=tmp_path / "c0"))
        (snippet,) = python_blocks(card.text)
        lines = run_installed(snippet, wheel, tmp_path, server.url).stdout.strip().splitlines()[:-1]

    # the same lines as the bundled weights give here, through the same steps
    checkpoint = load_checkpoint(WEIGHTS_DIR / name)
    result = predict(Image.open(street).convert("RGB"), checkpoint)
    names = checkpoint.config["class_names"]
    expected = [f"{names[index]}: {share:.0%} of the picture" for index, share in result.class_shares()[:3]]
    assert lines == expected + [f"{result.confidence.mean():.0%} sure on average"]
    assert "(https://huggingface.co/spaces/someone/segdemo)" in card.text
    assert 'pip install "segdemo @ git+https://huggingface.co/spaces/someone/segdemo"' in card.text


@pytest.mark.slow
def test_the_readmes_snippet_runs_as_printed_on_the_installed_package(wheel, street, tmp_path, monkeypatch):
    """The README's "In your own Python" block, its Space deployed to the local Hub server, OWNER/SPACE-NAME its."""
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    (snippet,) = [block for block in python_blocks((ROOT / "README.md").read_text())
                  if "from segdemo.inference import predict" in block]
    assert "OWNER/SPACE-NAME" in snippet
    script = snippet.replace("OWNER/SPACE-NAME", "someone/segdemo") + (
        "\nprint(tuple(result.labels.shape), result.samples, float(result.mutual_information.max()) > 0)\n")
    with HubServer() as server:
        assert deploy.main(["--space", "someone/segdemo", "--token", "hf_local_test_token",
                            "--endpoint", server.url]) == 0
        ran = run_installed(script, wheel, tmp_path, server.url)
    height, width = Image.open(PICTURE).size[::-1]
    assert ran.stdout.splitlines()[0] == f"({height}, {width}) 8 True"


def test_predict_takes_what_load_image_takes_and_brings_it_upright_to_rgb(tmp_path):
    """A library user hands predict a path, an array, a 16-bit or a sideways picture: each as an upload would be
    read (a float picture had come out black, a 16-bit one white, a sideways one unturned)."""
    checkpoint = load_checkpoint(WEIGHTS_DIR / "fcn8s_lite")
    rgb = Image.open(PICTURE).convert("RGB")
    reference = predict(rgb, checkpoint)
    assert torch.equal(predict(str(PICTURE), checkpoint).labels, reference.labels)
    assert torch.equal(predict(np.asarray(rgb), checkpoint).labels, reference.labels)
    grey = np.asarray(rgb.convert("L"))
    as_8_bit = predict(Image.fromarray(grey).convert("RGB"), checkpoint)
    for picture, note in ((Image.fromarray(grey.astype(np.uint16) * 257), "16-bit image scaled to 8 bits"),
                          (Image.fromarray(grey.astype(np.float32) / 255), "floating-point image scaled to 8 bits")):
        result = predict(picture, checkpoint)
        assert note in result.notes
        assert (result.labels == as_8_bit.labels).float().mean() > 0.99
    exif = rgb.getexif()
    exif[0x0112] = 6  # stored sideways: to be turned 90 degrees clockwise
    rgb.save(tmp_path / "sideways.jpg", exif=exif, quality=95)
    turned = predict(Image.open(tmp_path / "sideways.jpg"), checkpoint)
    assert tuple(turned.labels.shape) == (rgb.width, rgb.height)
    with pytest.raises(TypeError, match="takes a path, bytes, a PIL image or a numpy array"):
        predict([rgb], checkpoint)
    # a path that is not there is named: load_image's "The uploaded file could not be found." is a visitor's
    with pytest.raises(ImageError, match=f"^There is no file at {tmp_path / 'street.jpg'}\\.$"):
        predict(tmp_path / "street.jpg", checkpoint)
