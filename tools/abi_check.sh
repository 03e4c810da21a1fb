#!/usr/bin/env bash
# C ABI checks for libllmkit.so (docs/ABI.md):
#   1. bindings/c/llmkit.h compiles as strict C99 (-std=c99 -Wall -Wextra -pedantic -Werror, gcc and
#      clang when present) and as C++11, and the C99 test runs against the library;
#   2. the library exports only llmkit_* symbols (everything else is hidden);
#   3. the C example (examples/c/simple.c) reproduces the stories260K golden tokens through the ABI,
#      and the C++/Python chat examples run (SmolLM2, when cached);
#   4. abidiff against the committed baseline bindings/c/abi/libllmkit.abi: removing or changing an
#      exported function or a struct layout fails; additions (new functions, fields appended to
#      struct_size structs, new enumerators) pass.
#
# Usage: bash tools/abi_check.sh [BUILD_DIR] [--update | --self-test]
#   BUILD_DIR    CMake build folder holding libllmkit.so (default: build)
#   --update     rewrite the baseline from BUILD_DIR (only for a deliberate, documented ABI change;
#                an incompatible change also needs a soname bump, see docs/ABI.md)
#   --self-test  also show that the abidiff step fails on a removed function and on a changed
#                struct layout, and passes on an added function (mutated copies of the ABI dump)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MODE=${2:-check}
LIB="$BUILD/libllmkit.so"
BASELINE=bindings/c/abi/libllmkit.abi
SUPP=bindings/c/abi/suppressions.abignore
FIXTURES=${LLMKIT_FIXTURES:-../shared/fixtures}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "[abi] FAIL: $*" >&2; exit 1; }

if [ ! -f "$LIB" ]; then
  cmake --build "$BUILD" --target libllmkit.so
fi
LIBDIR=$(cd "$BUILD" && pwd)

source tools/abi_lib.sh

if [ "$MODE" = "--update" ]; then
  abi_dump "$LIB" "$BASELINE"
  echo "[abi] baseline rewritten: $BASELINE ($(grep -c '<elf-symbol' "$BASELINE") functions)"
  exit 0
fi

echo "[abi] 1. llmkit.h as C99 / C++"
for cc in ${CC:-cc} clang; do
  command -v "$cc" >/dev/null || continue
  "$cc" -std=c99 -Wall -Wextra -pedantic -Werror -I bindings/c tests/c99/header_c99.c \
    -L"$LIBDIR" -lllmkit -Wl,-rpath,"$LIBDIR" -o "$tmp/header_c99" || fail "llmkit.h is not clean C99 ($cc)"
  "$tmp/header_c99" || fail "C99 header test failed at run time ($cc)"
done
${CXX:-c++} -std=c++11 -x c++ -Wall -Wextra -pedantic -Werror -I bindings/c -fsyntax-only \
  tests/c99/header_c99.c || fail "llmkit.h does not compile as C++11"

echo "[abi] 2. exported symbols"
others=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v -e '^llmkit_' -e '^LLMKIT_' || true)
[ -z "$others" ] || fail "symbols other than llmkit_* are exported: $(echo "$others" | head -5 | tr '\n' ' ')"
echo "[abi]    $(nm -D --defined-only "$LIB" | grep -c ' T llmkit_') llmkit_* functions, nothing else"

echo "[abi] 3. C example vs the stories260K golden"
STORIES="$FIXTURES/models/stories260K.gguf"
GOLDEN="$FIXTURES/golden/stories260K-greedy-t0-n256.json"
if [ -f "$STORIES" ] && [ -f "$GOLDEN" ]; then
  EXE="$BUILD/example_c_simple"
  if [ ! -x "$EXE" ]; then
    EXE="$tmp/simple"
    ${CC:-cc} -std=c99 -Wall -Wextra -I bindings/c examples/c/simple.c -L"$LIBDIR" -lllmkit \
      -Wl,-rpath,"$LIBDIR" -o "$EXE"
  fi
  # Empty prompt = BOS only, as llama2.c's run.c. run.c ran 256 steps: input_tokens holds BOS + the
  # first 255 predictions, its text all 256 predictions (+ a newline).
  "$EXE" "$STORIES" "" 256 >"$tmp/out.txt" 2>"$tmp/err.txt" || { cat "$tmp/err.txt"; fail "C example failed"; }
  python3 - "$GOLDEN" "$tmp/out.txt" "$tmp/err.txt" <<'EOF' || fail "C example output differs from the golden"
import json, sys
golden = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding="utf-8").read()
err = open(sys.argv[3], encoding="utf-8").read()
ids = [int(x) for x in err.split("ids:")[1].split()]
want = golden["input_tokens"][1:]
if len(ids) != 256 or ids[:255] != want:
    first = next((i for i, (a, b) in enumerate(zip(ids, want)) if a != b), min(len(ids), len(want)))
    print(f"[abi]    token ids differ at {first}: got {ids[first:first+5]}, want {want[first:first+5]}")
    sys.exit(1)
# run.c prints the same story followed by a newline, and drops the leading space SentencePiece
# gives the first word after BOS; llmkit streams that space (as llama.cpp does).
if text.startswith(" "):
    text = text[1:]
if not golden["text"].startswith(text) or len(golden["text"].rstrip("\n")) != len(text.rstrip("\n")):
    print(f"[abi]    text differs:\n got: {text[:120]!r}\nwant: {golden['text'][:120]!r}")
    sys.exit(1)
print(f"[abi]    {len(want)} greedy token ids and the {len(text)}-byte story match the llama2.c golden")
EOF
else
  echo "[abi]    SKIP: fixtures not found at $FIXTURES"
fi

echo "[abi] 3b. chat examples (C++ API, Python binding) on SmolLM2"
SMOL="${LLMKIT_MODEL_CACHE:-$HOME/.cache/llmkit}/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$SMOL" ]; then
  if [ -x "$BUILD/example_cpp_chat" ]; then
    "$BUILD/example_cpp_chat" "$SMOL" "What is the capital of France?" >"$tmp/cpp.txt" 2>&1 || { cat "$tmp/cpp.txt"; fail "examples/cpp/chat.cpp failed"; }
    grep -q "tokens, .* tok/s" "$tmp/cpp.txt" || fail "examples/cpp/chat.cpp printed no result line"
    echo "[abi]    C++:    $(tail -1 "$tmp/cpp.txt")"
  fi
  PYTHONPATH="$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH}" LLMKIT_LIBRARY="$LIBDIR/libllmkit.so" \
    python3 examples/python/chat.py "$SMOL" "What is the capital of France?" >"$tmp/py.txt" 2>&1 || { cat "$tmp/py.txt"; fail "examples/python/chat.py failed"; }
  grep -q "tokens, .* tok/s" "$tmp/py.txt" || fail "examples/python/chat.py printed no result line"
  echo "[abi]    Python: $(tail -1 "$tmp/py.txt")"
else
  echo "[abi]    SKIP: $SMOL not cached"
fi

echo "[abi] 4. abidiff against $BASELINE"
abi_dump "$LIB" "$tmp/current.abi"
if ! abi_compare "$BASELINE" "$tmp/current.abi" "$tmp/report.txt"; then
  cat "$tmp/report.txt"
  fail "incompatible ABI change against $BASELINE (see docs/ABI.md: fix it, or bump the soname and run --update)"
fi
if [ -s "$tmp/report.txt" ]; then
  sed 's/^/[abi]    /' "$tmp/report.txt"
fi
echo "[abi]    compatible with the baseline"

if [ "$MODE" = "--self-test" ]; then
  echo "[abi] 5. self-test: the guard must catch deliberate breaks"
  python3 - "$tmp/current.abi" "$tmp" <<'EOF'
import re, sys
src, out = sys.argv[1], sys.argv[2]
xml = open(src).read()
def drop_function(text, name):
    text = re.sub(r"\s*<elf-symbol name='%s'[^>]*/>" % name, "", text)
    return re.sub(r"\s*<function-decl name='%s'.*?</function-decl>" % name, "", text, flags=re.S)
open(f"{out}/removed.abi", "w").write(drop_function(xml, "llmkit_session_cancel"))
# Swap the offsets of two fields of llmkit_session_params (a reordering: layout change).
m = re.search(r"<class-decl name='llmkit_session_params'.*?</class-decl>", xml, flags=re.S)
block = m.group(0)
swapped = block.replace("layout-offset-in-bits='64'", "layout-offset-in-bits='X'") \
               .replace("layout-offset-in-bits='96'", "layout-offset-in-bits='64'") \
               .replace("layout-offset-in-bits='X'", "layout-offset-in-bits='96'")
open(f"{out}/layout.abi", "w").write(xml.replace(block, swapped))
EOF
  abi_compare "$tmp/current.abi" "$tmp/removed.abi" "$tmp/r1.txt" && fail "self-test: a removed function was not detected"
  echo "[abi]    removed llmkit_session_cancel -> detected: $(grep -m1 -i 'removed' "$tmp/r1.txt")"
  abi_compare "$tmp/current.abi" "$tmp/layout.abi" "$tmp/r2.txt" && fail "self-test: a struct layout change was not detected"
  echo "[abi]    reordered llmkit_session_params fields -> detected: $(grep -m1 -i 'offset' "$tmp/r2.txt" | sed 's/^ *//')"
  abi_compare "$tmp/removed.abi" "$tmp/current.abi" "$tmp/r3.txt" || { cat "$tmp/r3.txt"; fail "self-test: an added function was rejected"; }
  echo "[abi]    added llmkit_session_cancel -> accepted"
fi
echo "[abi] OK"
