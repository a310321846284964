#!/usr/bin/env bash
# Run on a borrowed GPU machine: the CUDA tests, the GPU benchmark, then the
# rest of the suite, each with its log under $OUT. scripts/gpu_wheels.sh says
# how to get here (the wheels in .whl/, twins/ set aside).
#
# Usage: bash scripts/gpu_check.sh [cuda|speed|suite|all]   (default: all)
#   cuda   tests/test_cuda.py: the GPU against the CPU, the real server on CUDA, out of memory
#   speed  benchmarks/speed.py --device cuda (and its JSON)
#   suite  every other test, the app on the GPU where torch sees one (no browser there, nor Node.js for the
#          JavaScript client's test, which tests/js/node_modules would need)
set -uo pipefail
cd "$(dirname "$0")/.."
stage="${1:-all}"
out="${OUT:-artifacts/gpu}"
mkdir -p "$out"
export PYTHONUNBUFFERED=1 GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1

if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "the carried wheels did not install"; exit 1; }
  export PYTHONPATH=/tmp/site
fi
python3 - <<'EOF' 2>&1 | tee "$out/versions.txt"
import platform, torch, torchvision, gradio, gradio_client, huggingface_hub, safetensors
print("python", platform.python_version(), "torch", torch.__version__, "torchvision", torchvision.__version__)
print("gradio", gradio.__version__, "gradio_client", gradio_client.__version__, "huggingface_hub", huggingface_hub.__version__)
print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
EOF

status=0
if [ "$stage" = cuda ] || [ "$stage" = all ]; then
  python3 -m pytest tests/test_cuda.py -q -ra -p no:cacheprovider 2>&1 | tee "$out/test-cuda.log" || status=1
fi
if [ "$stage" = speed ] || [ "$stage" = all ]; then
  python3 benchmarks/speed.py --device cuda --repeats 5 --json "$out/speed-cuda.json" 2>&1 | tee "$out/speed-cuda.log" || status=1
fi
if [ "$stage" = suite ] || [ "$stage" = all ]; then
  python3 -m pytest -q -ra -p no:cacheprovider --ignore=tests/test_cuda.py --ignore=tests/test_browser.py \
    --ignore=tests/test_js_client.py 2>&1 \
    | tee "$out/test-suite.log" || status=1
fi
exit "$status"
