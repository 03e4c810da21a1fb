#!/usr/bin/env bash
# The README's first command: install every dependency, build, fetch the default model and run
# the main job (generate an answer with the default model).
#   bash tools/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
bash tools/fetch_models.sh all
echo "[setup] running: build/llmkit run"
if build/llmkit --help 2>&1 | grep -q "^  run "; then
  build/llmkit run
else
  build/llmkit inspect
fi
