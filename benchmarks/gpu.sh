#!/usr/bin/env bash
# One prepared GPU check for planseg's mask generator (run on a CUDA machine from the repo root):
#   bash benchmarks/gpu.sh            # table on stdout, and $OUT/gpu_results.md when OUT is set
# bf16 vs fp32 agreement, pages/s for vit_b and vit_h (random weights), multi-GPU scaling.
# Finishes well under 8 minutes: the Python side stops starting new timings after
# GPU_CHECK_BUDGET_S (default 360 s) and the whole script is capped at 450 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "no CUDA, skipping"
    exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="${PWD}${PYTHONPATH:+:$PYTHONPATH}"
timeout 450 "$PY" benchmarks/gpu_check.py
