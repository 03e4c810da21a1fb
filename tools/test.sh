#!/usr/bin/env bash
# The README's test command: builds and runs the whole test suite.
#   bash tools/test.sh
# Steps: dependencies → fetch real models (big-model tests skip with a message if offline) →
# Release build + ctest → ASan/UBSan build + unit tests (big-model suite excluded for time) →
# C ABI checks (C99 header compile, abidiff) → Python and Rust binding tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc)
start=$(date +%s)
step() { echo; echo "=== [$(( $(date +%s) - start ))s] $*"; }

step "dependencies"
bash tools/install_deps.sh
step "models"
bash tools/fetch_models.sh all || echo "[test] models unavailable: big-model tests will be skipped"

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
step "unit + model tests (ctest, release)"
(cd build && ctest --output-on-failure -j1 --timeout 900)

if [ "${LLMKIT_SKIP_SANITIZERS:-0}" != "1" ]; then
  step "ASan/UBSan build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLLMKIT_SANITIZE=ON -DLLMKIT_WITH_DNNL=ON >/dev/null
  cmake --build build-asan -j"$JOBS" --target llmkit_tests
  step "unit tests under ASan/UBSan (suite 'bigmodel' excluded)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build-asan/tests/llmkit_tests --test-suite-exclude=bigmodel
fi

if [ -x tools/abi_check.sh ]; then
  step "C ABI checks"
  bash tools/abi_check.sh build
fi
if [ -f bindings/python/pyproject.toml ]; then
  step "Python binding (pytest)"
  LLMKIT_LIBRARY="$ROOT/build/libllmkit.so" python3 -m pytest -q bindings/python/tests
fi
if [ -f bindings/rust/Cargo.toml ]; then
  step "Rust binding (cargo test)"
  (cd bindings/rust && LLMKIT_LIB_DIR="$ROOT/build" LD_LIBRARY_PATH="$ROOT/build" cargo test --offline -q 2>&1 || \
     (cd "$ROOT/bindings/rust" && LLMKIT_LIB_DIR="$ROOT/build" LD_LIBRARY_PATH="$ROOT/build" cargo test -q))
fi
step "done"
