#!/usr/bin/env bash
# Quality of the embedded default model on pages it never saw (issue: AP50 >= 0.6, AP >= 0.35):
# planseg synth --seed 12345 in both styles, planseg segment at default settings, planseg evaluate.
# Usage: [STYLES="vector scan"] bash benchmarks/eval_default_model.sh WORK_DIR [extra segment flags...]
set -euo pipefail
work=${1:?usage: eval_default_model.sh WORK_DIR}; shift
py=${PYTHON:-.venv/bin/python}
for style in ${STYLES:-vector scan}; do
  $py -m planseg synth "$work/$style" --docs 16 --seed 12345 --style $style --dpi 72 --sheet A3
  # exit 1 (a document failed) still scores the rest: its pages count as misses
  $py -m planseg segment "$work/$style/pdfs" --out "$work/pred-$style" --dpi 72 "$@" \
      || echo "$style: segment exited $?"
  $py -m planseg evaluate --pred "$work/pred-$style/coco.json" \
      --gt "$work/$style/data/annotations.json" --json > "$work/metrics-$style.json"
  echo "$style: $(cat "$work/metrics-$style.json")"
done
