#!/usr/bin/env bash
# Regenerate every measured figure of the shipped models after their weights change:
# for each model in weights/, fit its softmax temperature on frames it was NOT trained on
# (segdemo.calibrate -> config.json), measure it (segdemo.evaluate -> weights/NAME/eval.json:
# mIoU etc., calibration, uncertainty as an error detector), then rewrite the README's tables
# and draw docs/reliability.png and docs/uncertainty_errors.png, with their stacked and dark versions (segdemo.report),
# and the link preview's picture, docs/link-preview.jpg (segdemo.link_preview).
#
# Usage: bash scripts/refresh_eval.sh [--fit-split S] [--fit-sequence SEQ...]
#                                     [--fit-exclude-frames STEM...] [--fit-share SEQ=WEIGHT...]
#                                     [--measure-split S] [--measure-sequence SEQ...] [--models "A B"]
#
#   weights trained on the whole train split (the ones shipped before 0006R0 was held out):
#       bash scripts/refresh_eval.sh --fit-split val
#   weights trained with sequence 0006R0 held out:
#       bash scripts/refresh_eval.sh --fit-split train --fit-sequence 0006R0
#
# The measurement frames default to the val split (eval.json is what the README table, the
# Models tab and tests/test_shipped_weights.py read). Measure on frames the weights were not
# trained on: if val was part of training, pass e.g. --measure-split train --measure-sequence 0006R0
# (eval.json then says so in its "split" and "sequences"; the shipped-weights test accepts frames
# outside val only where the weights, or their twin, held their sequence out).
# Weights trained on every frame (all but the bundled examples) have no unseen sequence left:
# pass --twin-dir DIR, where DIR/NAME is their twin run (same start and schedule, 0006R0 held
# out). The twin is calibrated and measured, and segdemo.twin copies its temperature and
# eval.json onto weights/NAME, marked as the twin's:
#       bash scripts/refresh_eval.sh --twin-dir runs/twins --fit-split train --fit-sequence 0006R0 \
#            --measure-split train --measure-sequence 0006R0
# Where the twin trained on part of the frames the temperature should be fitted on, pass
# --donor-dir DIR: DIR/NAME (another run of the recipe that held them all out, already calibrated
# with segdemo.calibrate) lends its temperature to the twin, which is then measured with it:
#       bash scripts/refresh_eval.sh --twin-dir twins --donor-dir twins/dusk_stretch --models fcn8s_lite \
#            --measure-split train --measure-sequence 0006R0
# Only config.json and eval.json change in weights/: model.safetensors, which the zoo pins by
# sha256, is never written.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
FIT_SPLIT=val
FIT_SEQUENCES=()
FIT_EXCLUDE=()
FIT_SHARES=()
MEASURE_SPLIT=val
MEASURE_SEQUENCES=()
MODELS=""
TWIN_DIR=""
DONOR_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --fit-split) FIT_SPLIT=$2; shift 2 ;;
    --fit-sequence) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do FIT_SEQUENCES+=("$1"); shift; done ;;
    --fit-exclude-frames) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do FIT_EXCLUDE+=("$1"); shift; done ;;
    --fit-share) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do FIT_SHARES+=("$1"); shift; done ;;
    --measure-split) MEASURE_SPLIT=$2; shift 2 ;;
    --measure-sequence) shift; while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do MEASURE_SEQUENCES+=("$1"); shift; done ;;
    --models) MODELS=$2; shift 2 ;;
    --twin-dir) TWIN_DIR=$2; shift 2 ;;
    --donor-dir) DONOR_DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$MODELS" ]; then
  MODELS=$(for d in weights/*/; do [ -f "$d/model.safetensors" ] && basename "$d"; done | tr '\n' ' ')
fi

fit_args=(--split "$FIT_SPLIT")
[ ${#FIT_SEQUENCES[@]} -gt 0 ] && fit_args+=(--sequence "${FIT_SEQUENCES[@]}")
[ ${#FIT_EXCLUDE[@]} -gt 0 ] && fit_args+=(--exclude-frames "${FIT_EXCLUDE[@]}")
[ ${#FIT_SHARES[@]} -gt 0 ] && fit_args+=(--share "${FIT_SHARES[@]}")
measure_args=(--split "$MEASURE_SPLIT")
[ ${#MEASURE_SEQUENCES[@]} -gt 0 ] && measure_args+=(--sequence "${MEASURE_SEQUENCES[@]}")

for model in $MODELS; do
  measured="weights/$model"
  [ -n "$TWIN_DIR" ] && [ -d "$TWIN_DIR/$model" ] && measured="$TWIN_DIR/$model"
  if [ -n "$DONOR_DIR" ] && [ -d "$DONOR_DIR/$model" ]; then
    echo "== $measured: the temperature of $DONOR_DIR/$model"
    "$PY" -m segdemo.calibrate --checkpoint "$measured" --temperature-from "$DONOR_DIR/$model"
  else
    echo "== $measured: fitting the temperature on ${fit_args[*]}"
    "$PY" -m segdemo.calibrate --checkpoint "$measured" "${fit_args[@]}"
  fi
  echo "== $measured: measuring on ${measure_args[*]}"
  "$PY" -m segdemo.evaluate --checkpoint "$measured" "${measure_args[@]}" --out "$measured/eval.json"
  if [ "$measured" != "weights/$model" ]; then
    "$PY" -m segdemo.twin "$measured" "weights/$model"
  fi
done

echo "== README tables and docs/ plots"
"$PY" -m segdemo.report --readme README.md --plots docs

echo "== the link preview's picture (docs/link-preview.jpg), from the weights now shipped"
"$PY" -m segdemo.link_preview
