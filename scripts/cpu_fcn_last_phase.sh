#!/usr/bin/env bash
# The FCN's GPU last phase (scripts/gpu_train.sh fcn) on this CPU instead, one run at a time, resumable across
# sessions: no GPU has been lent since the SegNet's, and the guide says to train here rather than wait for one.
#
#   bash scripts/cpu_fcn_last_phase.sh dusk|twin|ship     # starts runs/cpu_fcn_NAME, or resumes it where it stopped
#
# The recipe is gpu_train.sh's 'fcn' stage (256x352 crops, batch 16, scale 0.75-1.5, ESPNet weights, Lovász,
# copy-paste, lr 3e-4, 2 warm-up epochs, 124 epochs) with what differs on a CPU: both threads, a save every 5
# minutes instead of a time limit, the PNG frames of ../shared/data/camvid (the GPU carries JPEGs), and bf16
# autocast where the CPU has it (--precision auto; the GPU runs bf16 too). Order: 'dusk' first (the temperature
# and the mixed cross-fit that estimates the test ECE come from it), then 'twin' (the figures), then 'ship'.
# Runs in the background with its own log (runs/cpu_fcn_NAME.log); pause it with kill -STOP during a test run.
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: bash scripts/cpu_fcn_last_phase.sh dusk|twin|ship}"
python="${PYTHON:-.venv/bin/python}"
out="runs/cpu_fcn_$name"
log="runs/cpu_fcn_$name.log"
mkdir -p runs
# a second start in its first 5 minutes (before state/ exists) would train a twin into the same folder
if pgrep -f -- "segdemo.train.*(--out|--resume) $out( |\$)" >/dev/null; then
  echo "$out is training now (pid $(pgrep -f -- "segdemo.train.*(--out|--resume) $out( |\$)" | head -1)): see $log"; exit 0
fi
if [ -f "$out/last/model.safetensors" ]; then   # train.py writes last/ only when the schedule is done
  echo "$out has finished: keep it with python -m segdemo.store_run (docs/training.md)"; exit 0
fi
if [ -d "$out/state" ]; then
  echo "resuming $out"
  nohup "$python" -m segdemo.train --resume "$out" >> "$log" 2>&1 &
  echo "pid $! -> $log"; exit 0
fi
EXAMPLES="0006R0_f01290 0006R0_f01890 0006R0_f02610 0006R0_f03210 0006R0_f03570 0006R0_f03690"
STRETCH=$(python3 -c "import json; print(' '.join(json.load(open('twins/dusk_stretch/fcn8s_lite/config.json'))['training']['excluded_frames']))")
RECIPE="--model fcn8s_lite --class-weighting espnet --weight-decay 1e-2 --ema 0.998 --lovasz-weight 1 --copy-paste 0.5 \
  --serve-size 360 480 --batch-size 16 --size 256 352 --scale 0.75 1.5 --lr 3e-4 --warmup-epochs 2 \
  --epochs ${EPOCHS:-124} --val-every 1000 --threads 2 --save-minutes 5 --precision auto --splits train val"
case "$name" in
  dusk) FRAMES="--init twins/dusk_stretch/fcn8s_lite_phase2 --holdout 0006R0 --exclude-frames $STRETCH" ;;
  twin) FRAMES="--init ${FCN_PHASE2:-data-cache/fcn8s_lite_87c3ed8} --holdout 0006R0" ;;
  ship) FRAMES="--init ${FCN_PHASE2:-data-cache/fcn8s_lite_87c3ed8} --exclude-frames $EXAMPLES" ;;
  *) echo "usage: bash scripts/cpu_fcn_last_phase.sh dusk|twin|ship"; exit 2 ;;
esac
if [ "$name" != dusk ] && [ ! -f "${FCN_PHASE2:-data-cache/fcn8s_lite_87c3ed8}/model.safetensors" ]; then
  mkdir -p data-cache/fcn8s_lite_87c3ed8   # the phase-2 weights the shipped FCN's CPU last phase started from
  for f in config.json model.safetensors; do git show "87c3ed8:weights/fcn8s_lite/$f" > "data-cache/fcn8s_lite_87c3ed8/$f"; done
fi
# shellcheck disable=SC2086
nohup "$python" -m segdemo.train $RECIPE $FRAMES --out "$out" > "$log" 2>&1 &
echo "pid $! -> $log"
