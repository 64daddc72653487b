#!/usr/bin/env bash
# Set up (or update) this checkout's environment: .venv with fnosweep and its test tools.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
# torch first, pinned by constraints.txt: a bare `torch` requirement would pull a
# multi-GB CUDA build onto a CPU-only machine.
.venv/bin/python -m pip install -q -c constraints.txt torch
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
echo "fnosweep is set up in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
