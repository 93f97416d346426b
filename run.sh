#!/usr/bin/env bash
# One entry point for a fresh machine (Debian, Python 3.11, gcc):
#   bash run.sh demo   set everything up, then run the main job on its built-in default
#   bash run.sh test   set everything up, then run the test suite (extra args go to pytest)
# Setting up = a virtual environment in .venv with this project installed (editable) and
# its dependencies from PyPI; it is skipped when pyproject.toml has not changed since.
set -euo pipefail
cd "$(dirname "$0")"

command="${1:-}"
shift || true

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "run.sh: Python 3.11 not found; install python3.11 (Debian: apt-get install python3 python3-venv)" >&2; exit 2; }

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$python_bin" -m venv .venv
  fi
  local stamp=.venv/.mcunet-tf-installed
  local want
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test,plots]'
    echo "$want" > "$stamp"
  fi
}

# The firmware tests need make, the Arm GNU toolchain with newlib (and libstdc++ for the
# stock-TFLM firmware, which is C++) and QEMU (Debian). As
# root, install whatever is missing, quietly; a failure (no network, not Debian) only means
# those tests skip with a message saying what to install.
install_cortex_m_tools() {
  [ "$(id -u)" = 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || return 0
  if command -v arm-none-eabi-gcc >/dev/null 2>&1 && command -v qemu-system-arm >/dev/null 2>&1 \
     && command -v make >/dev/null 2>&1 \
     && [ -f "$(arm-none-eabi-gcc -print-file-name=rdimon.specs)" ] \
     && echo '#include <cstdint>' | arm-none-eabi-g++ -mthumb -mcpu=cortex-m7 -fsyntax-only -x c++ - >/dev/null 2>&1; then
    return 0
  fi
  echo "run.sh: installing gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib, qemu-system-arm for the firmware tests" >&2
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           make gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm; } >/dev/null 2>&1 \
    || echo "run.sh: could not install them; the firmware tests will skip" >&2
}

case "$command" in
  demo)
    setup
    exec env TF_USE_LEGACY_KERAS=1 .venv/bin/python -m mcunet_tf.pipeline --out=out/pipeline "$@"
    ;;
  test)
    setup
    install_cortex_m_tools
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash run.sh demo|test [args]" >&2
    exit 2
    ;;
esac
