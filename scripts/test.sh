#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium for the browser tests, and Node.js for the JavaScript client's (tests/test_js_client.py)
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium fonts-dejavu-core)
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# and Debian's nginx, to serve the app at a path of a site as the README shows (tests/test_reverse_proxy.py)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python3 -m venv .venv
echo "installing requirements-dev.txt into .venv (log: .venv/pip.log)"
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -r requirements-dev.txt; } >.venv/pip.log 2>&1; then
  tail -n 40 .venv/pip.log
  exit 1
fi

echo "installing tests/js's pinned @gradio/client and axe-core (log: .venv/npm.log)"
if ! npm ci --prefix tests/js --no-audit --no-fund >.venv/npm.log 2>&1; then
  tail -n 40 .venv/npm.log
  exit 1
fi

export GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1
# Two pytest workers, each given whole files (pytest-xdist), where the machine has two cores: most tests wait on a
# server, a browser or a subprocess, so two at once took the suite from 1538 s to 1018 s on 2 cores. More workers
# add an app server and a chromium each (about 2 GB) for little more. SEGDEMO_TEST_WORKERS=1 runs them one by one.
workers="${SEGDEMO_TEST_WORKERS:-$(( $(nproc) >= 2 ? 2 : 1 ))}"
if [ "$workers" -gt 1 ]; then
  exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
fi
exec .venv/bin/python -m pytest "$@"
