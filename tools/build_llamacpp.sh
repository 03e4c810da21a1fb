#!/usr/bin/env bash
# Build llama.cpp's `llama-bench`, `llama-quantize` and `llama-completion` FROM SOURCE, as the anchor that
# bench/compare measures llmkit against (issue 5). The source comes from the PyPI sdist of
# llama-cpp-python (it vendors llama.cpp under vendor/llama.cpp), because package registries are the
# only network this project may use. CPU backend only, tuned for this machine (-DGGML_NATIVE=ON),
# Release. The build lands OUTSIDE the checkout so it survives `git clean` and is shared by builds:
#
#   ${LLAMACPP_BUILD_DIR:-~/.cache/llmkit/llama.cpp-build}/bin/{llama-bench,llama-quantize,llama-completion}
#
# An existing build is reused (delete the folder to force a rebuild). Parallelism: $JOBS (default 2).
#   LLAMACPP_VERSION=0.3.36 bash tools/build_llamacpp.sh
# Prints the path of the bin/ folder on its last line.
set -euo pipefail

VERSION="${LLAMACPP_VERSION:-0.3.36}"
JOBS="${JOBS:-2}"
ROOT="${LLAMACPP_BUILD_DIR:-$HOME/.cache/llmkit/llama.cpp-build}"
SRC="$ROOT/src"
BUILD="$ROOT/build"
BIN="$BUILD/bin"

if [[ -x "$BIN/llama-bench" && -x "$BIN/llama-quantize" && -x "$BIN/llama-completion" && -f "$ROOT/BUILD_INFO" ]]; then
  echo "[build_llamacpp] reusing $BIN" >&2
  cat "$ROOT/BUILD_INFO" >&2
  echo "$BIN"
  exit 0
fi

mkdir -p "$ROOT"
if [[ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "[build_llamacpp] downloading llama-cpp-python==$VERSION sdist" >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==$VERSION"
  tarball="$(find "$tmp" -maxdepth 1 -name 'llama*cpp*python-*.tar.gz' | head -1)"
  [[ -n "$tarball" ]] || { echo "[build_llamacpp] no sdist downloaded" >&2; exit 1; }
  rm -rf "$SRC"
  mkdir -p "$SRC"
  tar -xzf "$tarball" -C "$SRC" --strip-components=1
  sha256sum "$tarball" | awk '{print $1}' > "$ROOT/sdist.sha256"
  basename "$tarball" > "$ROOT/sdist.name"
fi

LLAMA="$SRC/vendor/llama.cpp"
# The sdist has no .git; the llama.cpp build number/commit come from the vendored sources when
# present. Record what we can identify the sources by.
commit="unknown"
if [[ -f "$LLAMA/.git" || -d "$LLAMA/.git" ]]; then
  commit="$(git -C "$LLAMA" rev-parse HEAD 2>/dev/null || echo unknown)"
fi

# Native CPU flags. Exception: on hosts with AMX (Sapphire/Granite Rapids) llama.cpp's AMX
# matmul path (compiled in by -march=native) crashes with SIGSEGV in ggml_backend_amx_mul_mat on
# every batched Q4_0/Q8_0 product with this version (seen on the 2-core Xeon dev VM, 2026-11-22),
# so there we build "native minus AMX": the same AVX-512 feature set spelled out, tuned for the
# host. LLAMACPP_AMX=1 forces the plain -march=native build.
ISA=(-DGGML_NATIVE=ON)
if grep -qw amx_int8 /proc/cpuinfo && [[ "${LLAMACPP_AMX:-0}" != 1 ]]; then
  ISA=(-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
       -DGGML_BMI2=ON -DGGML_AVX_VNNI=ON -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON
       -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF
       -DGGML_AMX_BF16=OFF "-DCMAKE_C_FLAGS=-mtune=native" "-DCMAKE_CXX_FLAGS=-mtune=native")
fi
FLAGS=(-DCMAKE_BUILD_TYPE=Release "${ISA[@]}" -DGGML_CPU=ON -DGGML_OPENMP=ON
       -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF
       -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
       -DLLAMA_BUILD_TOOLS=ON -DBUILD_SHARED_LIBS=OFF)
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
echo "[build_llamacpp] configuring: ${FLAGS[*]}" >&2
cmake -S "$LLAMA" -B "$BUILD" "${gen[@]}" "${FLAGS[@]}" >"$ROOT/configure.log" 2>&1 \
  || { tail -30 "$ROOT/configure.log" >&2; exit 1; }
echo "[build_llamacpp] building with -j$JOBS (minutes)" >&2
cmake --build "$BUILD" -j"$JOBS" --target llama-bench llama-quantize llama-completion >"$ROOT/build.log" 2>&1 \
  || { tail -40 "$ROOT/build.log" >&2; exit 1; }

{
  echo "llama-cpp-python sdist: $(cat "$ROOT/sdist.name" 2>/dev/null) sha256 $(cat "$ROOT/sdist.sha256" 2>/dev/null)"
  echo "llama.cpp commit: $commit"
  echo "llama-bench --version: $("$BIN/llama-bench" --version 2>&1 | tr '\n' ' ')"
  echo "compiler: $(${CXX:-c++} --version | head -1)"
  echo "cmake flags: ${FLAGS[*]}"
  echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
} > "$ROOT/BUILD_INFO"
cat "$ROOT/BUILD_INFO" >&2
echo "$BIN"
