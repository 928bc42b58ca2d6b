#!/usr/bin/env bash
# One command: tokenizer -> target -> draft (baseline + distilled) -> export + eval -> ONNX check -> manifest/docs.
# Seeded and reproducible (fixed step counts and seeds, torch single-threaded). ~55 minutes on 2 CPU cores.
# Needs Debian's python3-torch python3-numpy libopenblas0-pthread python3-regex python3-onnx; run with /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-/usr/bin/python3}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
TARGET_STEPS=${TARGET_STEPS:-2400}   # length of the LR schedule
TARGET_STOP=${TARGET_STOP:-1200}     # stop after this many of its steps (the shipped run: 1200 of 2400, see README)
DRAFT_STEPS=${DRAFT_STEPS:-400}
mkdir -p runs
FROM=${FROM:-tokenizer}   # resume: FROM=draft tools/train/train_all.sh skips the stages before "draft"
started=0
stage() {  # stage <name> <command...>: run it and merge its wall time (s) into runs/times.json
  local name=$1; shift
  [ "$name" = "$FROM" ] && started=1
  [ $started = 1 ] || { echo "=== $name: skipped"; return; }
  local t0=$SECONDS
  echo "=== $name: $*"
  "$@"
  $PY -c 'import json,os,sys; p="runs/times.json"; d=json.load(open(p)) if os.path.exists(p) else {}; d[sys.argv[1]]=int(sys.argv[2]); json.dump(d,open(p,"w"))' "$name" $((SECONDS - t0))
}
stage tokenizer $PY train_tokenizer.py
stage target $PY train_target.py --steps "$TARGET_STEPS" --stop-at "$TARGET_STOP"
stage draft $PY train_draft.py --target runs/target/ckpt.pt --steps "$DRAFT_STEPS"
stage export-target $PY export.py --ckpt runs/target/ckpt.pt --name lab-target --onnx
stage export-draft $PY export.py --ckpt runs/draft/ckpt.pt --name lab-draft --extra runs/draft/extra.json
stage check-onnx $PY check_onnx.py ../../models/lab-target
stage manifest $PY manifest.py
