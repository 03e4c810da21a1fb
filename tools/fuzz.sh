#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/fuzz_*.cpp) with clang + ASan/UBSan and runs each for N seconds.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]      # default: 600 s for every target, one after another
#   tools/fuzz.sh 60 fuzz_gguf               # one target for a minute
#
# Environment: BUILD_DIR (default build-fuzz), JOBS (build parallelism, default 2),
#              FUZZ_ARGS (extra libFuzzer flags, e.g. "-only_ascii=1"),
#              FUZZ_EXCLUDE (sources left out of the fuzz build; default: the compute code under
#              src/ops, src/runtime, src/models, which no parser target links, so a compute file
#              that only builds with gcc does not block fuzzing the readers).
# Seeds come from fuzz/corpus/<target>/ (regenerate with `python3 fuzz/make_corpus.py`); new inputs
# libFuzzer finds go to $BUILD_DIR/fuzz-work/<target>/corpus so the committed seeds stay small.
# Crashes, leaks, OOMs and timeouts are written to $BUILD_DIR/fuzz-work/<target>/artifacts/; reproduce
# one with `$BUILD_DIR/fuzz/<target> <artifact>`. libFuzzer stops a target at its first finding.
# Prints one line per target: executions, crashes (findings) and final coverage; exits 1 if any target
# found something.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-600}
shift || true
BUILD_DIR=${BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}

if [ $# -gt 0 ]; then
  TARGETS=("$@")
else
  TARGETS=()
  for f in fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$f" .cpp)"); done
fi

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLLMKIT_FUZZ=ON -DLLMKIT_BUILD_TESTS=OFF -DLLMKIT_WITH_DNNL=OFF \
  -DLLMKIT_EXCLUDE_REGEX="${FUZZ_EXCLUDE-.*/src/(ops|runtime|models)/.*}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
summary=()
for t in "${TARGETS[@]}"; do
  work="$BUILD_DIR/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  seeds=()
  [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
  log="$work/last-run.log"
  count_findings() { find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l; }
  before=$(count_findings)
  echo "=== $t: ${SECONDS_PER_TARGET}s (log: $log)"
  # -malloc_limit_mb: a single allocation above 256 MB from a <= 64 KB input means a lying count
  # was trusted; libFuzzer reports it as a crash (malloc limit) with the stack.
  set +e
  "$BUILD_DIR/fuzz/$t" "$work/corpus" "${seeds[@]}" "${dict[@]}" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=256 -print_final_stats=1 -artifact_prefix="$work/artifacts/" ${FUZZ_ARGS:-} \
    >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  findings=$(( $(count_findings) - before ))
  [ "$rc" -ne 0 ] && [ "$findings" -eq 0 ] && findings=1
  line="$t: seconds=$SECONDS_PER_TARGET executions=${execs:-?} crashes=$findings exit=$rc ${cov}"
  echo "$line"
  summary+=("$line")
  if [ "$findings" -ne 0 ]; then
    status=1
    grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ 0x' "$log" | head -20
  fi
done
echo
echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
