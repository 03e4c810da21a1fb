#!/usr/bin/env bash
# llama.cpp's own teacher-forced top-1 variance on the llmkit goldens (docs/ACCURACY.md):
# builds self_agreement.cpp against the llama.cpp build of tools/build_llamacpp.sh, then scores
# llama.cpp configurations that differ only in numerics against llama.cpp's default run (the
# golden). Usage: bash tools/llamacpp_variance/run.sh [MODEL.gguf GOLDEN.json]...
# Default: the two cached real models. Needs: tools/build_llamacpp.sh done, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="${LLAMACPP_BUILD_DIR:-$HOME/.cache/llmkit/llama.cpp-build}"
SRC="$ROOT/src/vendor/llama.cpp"
BUILD="$ROOT/build"
CACHE="${LLMKIT_MODEL_CACHE:-$HOME/.cache/llmkit}"
[[ -f "$BUILD/src/libllama.a" ]] || { echo "run tools/build_llamacpp.sh first" >&2; exit 1; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
c++ -O2 -std=c++17 tools/llamacpp_variance/self_agreement.cpp -I"$SRC/include" -I"$SRC/ggml/include" \
  "$BUILD/src/libllama.a" "$BUILD/ggml/src/libggml.a" "$BUILD/ggml/src/libggml-cpu.a" \
  "$BUILD/ggml/src/libggml-base.a" -fopenmp -lpthread -ldl -o "$OUT/self_agreement"
if [[ $# -eq 0 ]]; then
  set -- "$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf" tests/golden/llamacpp/SmolLM2-135M-Instruct.Q4_1.json \
         "$CACHE/gemma-3-270m-q4_k_m.gguf" tests/golden/llamacpp/gemma-3-270m-q4_k_m.json
fi
while [[ $# -ge 2 ]]; do
  model="$1" golden="$2"
  shift 2
  python3 - "$golden" "$OUT" <<'PY'
import json, sys
tf = json.load(open(sys.argv[1]))["teacher_forced"]
open(sys.argv[2] + "/toks.txt", "w").write(" ".join(map(str, tf["tokens"])))
open(sys.argv[2] + "/top1.txt", "w").write(" ".join(map(str, tf["top1"])))
PY
  echo "== $(basename "$model") (golden: n_batch 512, 1 thread, f16 KV, no flash attention, repack off)"
  # The golden's own configuration first (must print 1.0000: the harness reproduces it), then
  # configurations that change only llama.cpp's arithmetic.
  for cfg in "512 1 f16 0 0" "512 2 f16 0 0" "64 1 f16 0 0" "512 1 f32 0 0" "512 1 f16 1 0" "512 1 f16 0 1"; do
    # shellcheck disable=SC2086
    "$OUT/self_agreement" "$model" "$OUT/toks.txt" "$OUT/top1.txt" $cfg
  done
done
