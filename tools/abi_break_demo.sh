#!/usr/bin/env bash
# Demonstrates the ABI guard on real builds: rebuilds libllmkit.so from a modified copy of
# bindings/c (same compile and link commands as BUILD_DIR, same static core) and runs the abidiff +
# layout comparison of tools/abi_check.sh against the committed baseline for each modification:
#   append-field   a field appended to llmkit_session_params (struct_size struct)  -> must PASS
#   add-function   a new exported function                                         -> must PASS
#   reorder        two fields of llmkit_generate_params swapped                     -> must FAIL
#   remove         llmkit_session_cancel removed                                    -> must FAIL
#   retype         llmkit_session_truncate takes uint32_t instead of size_t        -> must FAIL
#   frozen         a field appended to llmkit_chat_message (used in arrays)        -> must FAIL
# Usage: bash tools/abi_break_demo.sh [BUILD_DIR]   (needs a configured + built BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The real compile/link commands of the llmkit target, rewritten to use the copy.
compile_cmds=$(ninja -C "$BUILD" -t commands libllmkit.so | grep -- "-c $ROOT/bindings/c/")
link_cmd=$(ninja -C "$BUILD" -t commands libllmkit.so | grep -- "-shared" | tail -1)

build_variant() {  # NAME PYTHON-EDIT
  local name=$1 dir="$tmp/$1"
  mkdir -p "$dir/obj"
  cp -r "$ROOT/bindings/c" "$dir/c"
  python3 -c "$2" "$dir/c/llmkit.h" "$dir/c"
  while IFS= read -r cmd; do
    cmd=${cmd#: && }
    cmd=${cmd//$ROOT\/bindings\/c\//$dir\/c\/}
    cmd=${cmd//-I$ROOT\/bindings\/c /-I$dir\/c }
    cmd=$(echo "$cmd" | sed -E "s# -o CMakeFiles/llmkit.dir/bindings/c/([a-z_]+\.cpp\.o)# -o $dir/obj/\1#; s# -MD -MT [^ ]+ -MF [^ ]+##")
    (cd "$BUILD" && eval "$cmd")
  done <<<"$compile_cmds"
  local l=${link_cmd#: && }
  l=${l%%&& :*}
  l=$(echo "$l" | sed -E "s#CMakeFiles/llmkit.dir/bindings/c/#$dir/obj/#g; s# -o libllmkit.so[.0-9]*# -o $dir/libllmkit.so#")
  (cd "$BUILD" && eval "$l")
}

SUPP=bindings/c/abi/suppressions.abignore
source tools/abi_lib.sh  # abi_dump, abi_compare: the same comparison as tools/abi_check.sh

status=0
run() {  # NAME EXPECT(pass|fail) PYTHON-EDIT
  build_variant "$1" "$3"
  abi_dump "$tmp/$1/libllmkit.so" "$tmp/$1/abi.xml"
  if abi_compare bindings/c/abi/libllmkit.abi "$tmp/$1/abi.xml" "$tmp/$1/report.txt"; then got=pass; else got=fail; fi
  local why
  why=$(grep -m1 -E "layout check|\[D\]|\[C\]" "$tmp/$1/report.txt" | sed "s/^ *//" || true)
  printf '[demo] %-15s expected %-4s got %-4s %s\n' "$1" "$2" "$got" "${why:0:150}"
  [ "$got" = "$2" ] || status=1
}
H='import sys,re; p=sys.argv[1]; s=open(p).read(); '
W='; open(p,"w").write(s)'
run append-field pass "$H"'s=s.replace("  uint32_t n_batch;     /* prompt tokens per forward pass; default 256 */", "  uint32_t n_batch;     /* prompt tokens per forward pass; default 256 */\n  uint32_t n_future;")'"$W"
run add-function pass "$H"'s=s.replace("#ifdef __cplusplus\n} /* extern", "LLMKIT_API int32_t llmkit_demo_new(void);\n#ifdef __cplusplus\n} /* extern")'"$W"'; open(sys.argv[2]+"/llmkit_c_internal.cpp","a").write("extern \"C\" LLMKIT_API int32_t llmkit_demo_new(void) { return 1; }\n")'
run reorder fail "$H"'s=s.replace("  int32_t stop_at_end_of_generation; /* default 1 */\n  int32_t context_full_is_error;", "  int32_t context_full_is_error;\n  int32_t stop_at_end_of_generation;")'"$W"
run remove fail "$H"'s=s.replace("LLMKIT_API llmkit_status llmkit_session_cancel(llmkit_session* session);", "")'"$W"'; import glob; q=sys.argv[2]+"/llmkit_c_session.cpp"; t=open(q).read(); t=re.sub(r"LLMKIT_API llmkit_status llmkit_session_cancel\(.*?\n}\n", "", t, flags=re.S); open(q,"w").write(t)'
run retype fail "$H"'s=s.replace("llmkit_session_truncate(llmkit_session* session, size_t n_keep)", "llmkit_session_truncate(llmkit_session* session, uint32_t n_keep)")'"$W"'; q=sys.argv[2]+"/llmkit_c_session.cpp"; t=open(q).read().replace("llmkit_session_truncate(llmkit_session* session, size_t n_keep)", "llmkit_session_truncate(llmkit_session* session, uint32_t n_keep)"); open(q,"w").write(t)'
run frozen fail "$H"'s=s.replace("  const char* content;  /* NUL-terminated UTF-8 */\n} llmkit_chat_message;", "  const char* content;  /* NUL-terminated UTF-8 */\n  const char* name;\n} llmkit_chat_message;")'"$W"
[ $status -eq 0 ] && echo "[demo] OK: the guard passes compatible additions and fails every break" || echo "[demo] UNEXPECTED RESULT"
exit $status
