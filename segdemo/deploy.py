"""python -m segdemo.deploy --space OWNER/NAME: the Space's files, uploaded through the Hub's HTTP API.

A ``git push`` of this repository to a Space is refused: the Hub takes
binary files (the weights, the pictures) only through its Xet/LFS storage,
and this repository's history holds them in git itself. ``upload_folder``
sends the tree as it is now, its binary files through that storage and
none of the history. What is sent: every file git tracks, less what the
Space never runs nor links to (``NOT_SENT``: the tests, the benchmarks, the
held-out twins with their 88 MB of weights, the maintainers' scripts and CI,
the development requirements); a redeploy deletes the Space's files that the
tree no longer has, these included. The Space's README names its link
preview, ``docs/link-preview.jpg`` as the Space holds it, as the picture of
a link to the Space's page on the Hub (``thumbnail:``, which needs the
Space's address). ``--dry-run
DIR`` writes exactly that folder and uploads nothing; the tests start the
app from it.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from huggingface_hub import HfApi, constants, hf_hub_url
from huggingface_hub.repocard import metadata_load

from .hub import UPLOAD_ERRORS, add_timeout_option, bound_hub_timeouts, describe_upload_failure
from .link_preview import CARD

ROOT = Path(__file__).resolve().parent.parent
# What the Space never runs: app.py and segdemo/ read only weights/, examples/ and docs/, and neither the README
# nor docs/ links into these (the Space shows the README). fnmatch's * crosses folders: "tests/*" is all of tests/.
NOT_SENT = ("tests/*", "benchmarks/*", "twins/*", "scripts/*", ".ci/*", "requirements-dev.txt")
KEPT_ON_THE_HUB = {".gitattributes"}
LINK_PREVIEW = CARD.relative_to(ROOT).as_posix()  # segdemo/link_preview.py's picture, 1200x630 as social sites show
# The Hub's rules for a Space's configuration block (huggingface.co/docs/hub/spaces-config-reference) that refuse
# an upload: checked before anything is sent, so that a deploy is refused here, in a sentence, not by the Hub.
SHORT_DESCRIPTION_LIMIT = 60
SPACE_COLOURS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
# suggested_hardware "must be a valid hardware flavor": the reference's list. A duplicate's dialog offers it; the
# README names cpu-basic, the free CPU the Space is measured on. A flavour the Hub adds later belongs here too.
SPACE_HARDWARE = ("cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4", "l40sx1", "l40sx4", "l40sx8",
                  "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4", "a100-large", "a100x4", "a100x8")


def configuration_problems(root: Path = ROOT) -> list[str]:
    """What in the README's configuration block the Hub would refuse (or build another Space from): [] if none."""
    try:
        metadata = metadata_load(root / "README.md") or {}
    except Exception as error:  # yaml's errors: the block does not parse
        return [f"its configuration block is not valid YAML ({type(error).__name__})"]
    problems = []
    description = str(metadata.get("short_description", ""))
    if len(description) > SHORT_DESCRIPTION_LIMIT:
        problems.append(f"short_description is {len(description)} characters; the Hub takes {SHORT_DESCRIPTION_LIMIT} "
                        "at most")
    if metadata.get("sdk") != "gradio":
        problems.append(f"sdk is {metadata.get('sdk')!r}, not 'gradio'")
    if metadata.get("app_file", "app.py") != "app.py":
        problems.append(f"app_file is {metadata.get('app_file')!r}, not 'app.py'")
    for key in ("colorFrom", "colorTo"):
        if key in metadata and metadata[key] not in SPACE_COLOURS:
            problems.append(f"{key} is {metadata[key]!r}; the Hub takes one of {', '.join(SPACE_COLOURS)}")
    hardware = metadata.get("suggested_hardware")
    if hardware is not None and hardware not in SPACE_HARDWARE:
        problems.append(f"suggested_hardware is {hardware!r}, not one of the Hub's hardware flavours "
                        f"({', '.join(SPACE_HARDWARE)})")
    # The Space installs Gradio at sdk_version, then requirements.txt: two versions would not install together.
    pinned = re.search(r"^gradio(?:\[[^]]*\])?==(\S+)", (root / "requirements.txt").read_text(), flags=re.MULTILINE)
    if pinned and str(metadata.get("sdk_version")) != pinned.group(1):
        problems.append(f"sdk_version is {metadata.get('sdk_version')!r} where requirements.txt pins gradio "
                        f"{pinned.group(1)}")
    return problems


def check_configuration(root: Path = ROOT) -> None:
    """Refuse, before anything is written or sent, a README whose configuration block the Hub would refuse."""
    problems = configuration_problems(root)
    if problems:
        raise SystemExit("the Space's README.md would be refused by the Hub: " + "; ".join(problems))


def space_files(root: Path = ROOT) -> list[str]:
    """The repository's tracked files that the Space gets, as paths relative to ``root``."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"segdemo.deploy needs a git checkout of segdemo (git ls-files failed: {error})") from None
    files = [name for name in listed.decode().split("\0") if name]
    return sorted(name for name in files
                  if (root / name).is_file() and not any(fnmatch.fnmatch(name, pattern) for pattern in NOT_SENT))


def link_preview_url(space: str, endpoint: str | None = None) -> str:
    """Where the Hub serves the Space's link preview: what a social site fetches for a link to the Space's page."""
    return hf_hub_url(space, LINK_PREVIEW, repo_type="space", endpoint=endpoint or constants.ENDPOINT)


def with_thumbnail(readme: str, url: str) -> str:
    """The README with ``thumbnail: url`` as the last line of its configuration block, unless it names one already.
    A link to the Space's page on the Hub (huggingface.co/spaces/OWNER/NAME), the link most often shared, showed
    the Hub's card of title and emoji: it now shows both networks on a bundled frame, as a link to the app does."""
    block, rest = readme.split("\n---\n", 1)
    if re.search(r"^thumbnail:", block, flags=re.MULTILINE):
        return readme
    return f"{block}\nthumbnail: {url}\n---\n{rest}"


def prepare_folder(out: Path, root: Path = ROOT, space: str | None = None, endpoint: str | None = None) -> Path:
    """Copy the Space's files into ``out`` (an empty or new folder), its README with the link preview of ``space``
    as the thumbnail; returns it."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: give a new folder")
    for name in space_files(root):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    if space and (out / LINK_PREVIEW).is_file():
        readme = out / "README.md"
        readme.write_text(with_thumbnail(readme.read_text(encoding="utf-8"), link_preview_url(space, endpoint)),
                          encoding="utf-8")
    return out


def deploy(api: HfApi, space: str, private: bool = False) -> tuple[str, str]:
    """Create the Gradio Space if missing and make its files this tree's, in one commit; its URL and commit."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = prepare_folder(Path(tmp) / "space", space=space, endpoint=api.endpoint)
        url = api.create_repo(space, repo_type="space", space_sdk="gradio", private=private or None, exist_ok=True)
        # a redeploy also removes what this tree no longer has (a module moved, a picture renamed); the Hub's
        # own .gitattributes stays. Names are escaped: the Hub client reads them as fnmatch patterns.
        stale = sorted(set(api.list_repo_files(space, repo_type="space")) - set(space_files()) - KEPT_ON_THE_HUB)
        commit = api.upload_folder(repo_id=space, repo_type="space", folder_path=folder,
                                   commit_message="Deploy segdemo",
                                   delete_patterns=[glob.escape(name) for name in stale] or None)
    return str(url), commit.oid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", required=True, help="the Space, OWNER/NAME (created as a Gradio Space if missing)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the Space's files to DIR and upload nothing")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN or the saved login)")
    parser.add_argument("--endpoint", help="Hub endpoint (default: HF_ENDPOINT or huggingface.co)")
    add_timeout_option(parser)
    args = parser.parse_args(argv)
    check_configuration()

    if args.dry_run:
        folder = prepare_folder(args.dry_run, space=args.space, endpoint=args.endpoint)
        files = space_files()
        size = sum((folder / name).stat().st_size for name in files)
        print(f"wrote {len(files)} files, {size / 1e6:.1f} MB, to {folder}")
        return 0

    bound_hub_timeouts(args.timeout)
    api = HfApi(endpoint=args.endpoint, token=args.token)
    try:
        url, commit = deploy(api, args.space, private=args.private)
    except UPLOAD_ERRORS as error:
        reason = describe_upload_failure(error, args.space)
        raise SystemExit(f"could not deploy to the Space {args.space}: {reason}") from None
    except ValueError as error:  # huggingface_hub's "Invalid metadata in README.md", the Hub's own words after it
        said = " ".join(line.strip(" -") for line in str(error).splitlines()[1:] if line.strip())
        raise SystemExit(f"could not deploy to the Space {args.space}: the Hub refused README.md's configuration "
                         f"block ({said or error})") from None
    print(f"uploaded to {url} at commit {commit}; the Space installs requirements.txt and starts app.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
