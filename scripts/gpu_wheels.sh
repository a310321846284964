#!/usr/bin/env bash
# Gather, on this machine, the Python wheels that a borrowed GPU machine lacks,
# so that scripts/gpu_check.sh can run the app and its CUDA tests there.
#
# The project's lent GPU machine (an H200, reached through the session's
# device tool) has Python 3.12 with torch 2.11, torchvision 0.26, numpy,
# pandas, pillow, matplotlib and pytest, but no gradio, no `spaces` and
# huggingface_hub 1.x. It cannot download anything: what it lacks travels
# with the working tree, and that tree may weigh at most 64 MiB. The twins
# (twins/, about 89 MB) do not fit beside the wheels; the GPU check does not
# read them, so set them aside while the call runs:
#
#   bash scripts/gpu_wheels.sh            # here: .whl/ (ignored), prints what will travel
#   mv twins /tmp/segdemo-twins           # here, for the call only
#   run: command 'bash scripts/gpu_check.sh', carry ['.whl']
#   mv /tmp/segdemo-twins twins           # here, at once after it
#
# Usage: bash scripts/gpu_wheels.sh [PYTHON-VERSION, default 3.12]
set -euo pipefail
cd "$(dirname "$0")/.."
python_version="${1:-3.12}"
rm -rf .whl
mkdir -p .whl

# gradio and what it needs, with requirements.txt's versions; the large
# binaries the GPU machine already has (numpy, pandas, pillow, hf_xet) and
# pygments stay behind, to keep the tree under 64 MiB; so does Gradio's mcp extra (7 MiB: the app serves no MCP
# for agents there, and says so once; tests/test_agents.py skips).
requirements=$(grep -v -E '^(#|torch|torchvision|numpy|pillow[<>=]|matplotlib|tqdm)' requirements.txt | sed 's/#.*//' \
  | sed 's/^gradio\[mcp\]/gradio/' | grep -v '^$')
# and what tests/test_package.py builds segdemo's wheel with (requirements-dev.txt's)
requirements="$requirements setuptools>=77 packaging>=24"
# shellcheck disable=SC2086
python3 -m pip download -q --only-binary=:all: --python-version "$python_version" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d .whl $requirements 2>&1 | grep -v 'is ignored' || true
for there_already in numpy pandas pillow hf_xet pygments; do
  rm -f .whl/"$there_already"-*.whl
done

wheels=$(du -sk .whl | cut -f1)
tree=$(git ls-files -z | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
twins=$(git ls-files -z twins | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
echo "wheels: $((wheels / 1024)) MiB in $(ls .whl | wc -l) files"
echo "tracked tree: $((tree / 1024)) MiB, of which twins/ $((twins / 1024)) MiB"
echo "travels with twins/ set aside: $(((tree - twins + wheels) / 1024)) MiB (limit 64)"
