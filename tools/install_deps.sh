#!/usr/bin/env bash
# Installs everything llmkit needs to build, test and regenerate goldens on Debian 12 (bookworm).
# Idempotent and quick when everything is present. Needs root (or sudo) for apt.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libeigen3-dev libdnnl-dev ocl-icd-opencl-dev libsentencepiece-dev libfmt-dev doctest-dev
  libpcre2-dev nlohmann-json3-dev libutf8proc-dev
  clang libclang-rt-14-dev abigail-tools python3-pip
)
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[install_deps] apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "[install_deps] apt: all ${#APT_PACKAGES[@]} packages present"
fi

# Python packages for tools/, goldens and the Python binding's tests (never used by the library).
PY=${PYTHON:-python3}
if [ "${LLMKIT_SKIP_PIP:-0}" != "1" ]; then
  need_pip=0
  "$PY" - <<'PYEOF' || need_pip=1
import importlib, sys
for m in ("numpy", "gguf", "pytest"):
    importlib.import_module(m)
PYEOF
  if [ "$need_pip" = "1" ]; then
    echo "[install_deps] pip: installing tools/requirements.txt"
    "$PY" -m pip install -q --disable-pip-version-check -r "$(dirname "$0")/requirements.txt"
  else
    echo "[install_deps] pip: core packages present"
  fi
fi
