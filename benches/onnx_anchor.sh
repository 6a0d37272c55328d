#!/usr/bin/env bash
# CPU runtime anchor (issue 17): our CPU kernels, then ONNX Runtime and PyTorch eager, one after
# the other on the same machine, forward only on pre-decoded covers, batch 16, 2 threads; MiniLM
# on 1,000 lyrics (at most 256 tokens), batch 32.
#   benches/onnx_anchor.sh [COVERS_CSV] [OUT_DIR] [LYRICS_CSV]
# ($ANCHOR_BACKBONES: which backbones; $ANCHOR_ROUNDS: alternating rounds, default 1;
# $ANCHOR_MINILM=0 leaves MiniLM out; $ANCHOR_PRECISIONS: ours, e.g. f32,int8, default f32;
# $ANCHOR_ORT_INT8=1 also times ONNX Runtime's int8: static for the backbones, dynamic for MiniLM.)
# Needs a Python with torch, torchvision, onnx, onnxruntime, pillow, efficientnet-lite-pytorch
# ($PYTHON, default python3) and the zoo weights in the cache (`autopilot models fetch NAME`).
set -euo pipefail
cd "$(dirname "$0")/.."
CSV=${1:-../shared/data/covers-spotify/albums.csv}
OUT=${2:-/tmp/onnx_anchor}
LYRICS=${3:-../shared/data/lyrics-spotify/songs.csv}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
WEIGHTS=${AUTOPILOT_CACHE:+$AUTOPILOT_CACHE/models}
WEIGHTS=${WEIGHTS:-$HOME/.cache/autopilot/models}
cargo build --release --workspace --example neural_bench
echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The backbones timed on both sides (comma-separated zoo names).
export ANCHOR_BACKBONES=${ANCHOR_BACKBONES:-mobilenet-v2,efficientnet-lite0,efficientnet-lite1,efficientnet-lite2,resnet50-1by2}
# Rounds of (ours, then Python), alternating so that both sides see the same drift of a shared box;
# MiniLM is timed unless ANCHOR_MINILM=0.
ROUNDS=${ANCHOR_ROUNDS:-1}
MINILM=${ANCHOR_MINILM:-1}
# Our precisions, each backbone (and MiniLM) at each one after the other (int8 needs AVX-512 VNNI).
PRECISIONS=${ANCHOR_PRECISIONS:-f32}
: > "$OUT/ours.txt"
: > "$OUT/python.txt"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS (loadavg $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/ours.txt" "$OUT/python.txt"
  RAYON_NUM_THREADS=2 target/release/examples/neural_bench featurize_speed "$CSV" "$ANCHOR_BACKBONES" 16 all \
    "$PRECISIONS" | tee -a "$OUT/ours.txt"
  if [ "$MINILM" = 1 ]; then
    RAYON_NUM_THREADS=2 target/release/examples/neural_bench minilm_speed "$LYRICS" --limit 1000 --batch 32 \
      --precisions "$PRECISIONS" | tee -a "$OUT/ours.txt"
    RAYON_NUM_THREADS=2 target/release/examples/neural_bench minilm_speed "$LYRICS" --limit 1000 --batch 32 --burn \
      | tee -a "$OUT/ours.txt"
    TEXT_ARGS=("$LYRICS" 1000 32)
  else
    TEXT_ARGS=()
  fi
  "$PYTHON" benches/python/onnx_anchor.py "$CSV" "$WEIGHTS" "$OUT/python_$round.json" 16 2 0 \
    "${TEXT_ARGS[@]}" | tee -a "$OUT/python.txt"
done
