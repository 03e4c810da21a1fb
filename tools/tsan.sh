#!/usr/bin/env bash
# ThreadSanitizer run of the threading contract (tests/test_threading.cpp) and the C ABI tests
# (tests/test_c_abi.cpp: cross-thread cancel) — see docs/ABI.md "Threading".
#
#   bash tools/tsan.sh            # builds build-tsan, runs the suites "threading" and "c_abi"
#   bash tools/tsan.sh --big      # also the SmolLM2 4-thread case (suite "bigmodel", slow under TSan)
#
# Why -DLLMKIT_WITH_DNNL=OFF: Debian's oneDNN is built against GNU OpenMP (libgomp), which is not
# TSan-instrumented; its worker threads synchronise through futexes/atomics TSan cannot see and it
# reports false races inside libgomp/libdnnl. llmkit's own kernels and thread pool are the code
# under test, so the TSan build leaves the oneDNN path out (the same decoder runs on llmkit's
# kernels). Everything else is the normal build with -fsanitize=thread.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_TSAN:-build-tsan}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMKIT_TSAN=ON -DLLMKIT_WITH_DNNL=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target llmkit_tests
# halt_on_error: any data race fails the run; second_deadlock_stack for readable lock reports.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
"$BUILD/tests/llmkit_tests" --test-suite="threading,c_abi"
if [ "${1:-}" = "--big" ]; then
  "$BUILD/tests/llmkit_tests" --test-suite=bigmodel --test-case="*4 sessions*"
fi
echo "[tsan] OK: the threading and C ABI suites ran clean under ThreadSanitizer"
