"""planseg FastMaskGenerator vs segment_anything.SamAutomaticMaskGenerator (CPU, not a test).

Same model, same pages, same SAM parameters, one process, interleaved per page. Prints ms/page
of each, the speed-up and the match rates in both directions (fraction of one side's masks
that the other side has at mask IoU >= 0.9), then a Markdown table for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/bench_amg.py                      # toy-trained tiny, 32x32 grid
    .venv/bin/python benchmarks/bench_amg.py --arch vit_b --points-per-side 8 --pages 2
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from pycocotools import mask as mask_utils
from segment_anything import SamAutomaticMaskGenerator

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from amg_toy import train_toy_sam, zoning_page  # noqa: E402

from planseg.infer.amg import FastMaskGenerator, embed_image  # noqa: E402
from planseg.infer.config import AmgConfig  # noqa: E402
from planseg.models.registry import build_sam  # noqa: E402


def match_rate(a: list[dict], b: list[dict], iou: float = 0.9) -> float:
    """Fraction of records in ``a`` with a record in ``b`` at mask IoU >= ``iou`` (1 if a empty)."""
    if not a:
        return 1.0
    if not b:
        return 0.0
    ious = mask_utils.iou([r["segmentation"] for r in a], [r["segmentation"] for r in b],
                          [0] * len(b))
    return float((np.asarray(ious).max(axis=1) >= iou).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="tiny")
    parser.add_argument("--train-steps", type=int, default=1500,
                        help="toy training steps for planseg archs (0: random weights)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="state dict of --arch to load; trained and saved there if absent")
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--page-px", type=int, default=0, help="page side (0: model input)")
    parser.add_argument("--points-per-side", type=int, default=32)
    parser.add_argument("--pred-iou-thresh", type=float, default=None)
    parser.add_argument("--stability-score-thresh", type=float, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    sam = _model(args)
    side = args.page_px or sam.image_encoder.img_size
    sam_kwargs = {k: v for k, v in dict(points_per_side=args.points_per_side,
                                        pred_iou_thresh=args.pred_iou_thresh,
                                        stability_score_thresh=args.stability_score_thresh
                                        ).items() if v is not None}
    reference = SamAutomaticMaskGenerator(sam, output_mode="coco_rle", **sam_kwargs)
    fast = FastMaskGenerator(sam, AmgConfig(**sam_kwargs))
    fast_dense = FastMaskGenerator(sam, AmgConfig(**sam_kwargs, skip_blank_points=False))

    times = {"reference": [], "planseg": [], "planseg (no blank skip)": [], "encoder": []}
    rates, counts = [], []
    for page in range(args.pages):
        image, _ = zoning_page(500 + page, side, side)
        start = time.perf_counter()
        embed_image(sam, image)
        times["encoder"].append(time.perf_counter() - start)
        results = {}
        for name, gen in (("reference", reference), ("planseg", fast),
                          ("planseg (no blank skip)", fast_dense)):
            start = time.perf_counter()
            results[name] = gen.generate(image)
            times[name].append(time.perf_counter() - start)
        ref, out = results["reference"], results["planseg"]
        rates.append((match_rate(ref, out), match_rate(out, ref),
                      match_rate(ref, results["planseg (no blank skip)"]),
                      match_rate(results["planseg (no blank skip)"], ref)))
        counts.append((len(ref), len(out)))
        print(f"page {page}: reference {times['reference'][-1] * 1e3:.0f} ms "
              f"({len(ref)} masks), planseg {times['planseg'][-1] * 1e3:.0f} ms ({len(out)} "
              f"masks, {fast.blank_points_skipped} blank points skipped), "
              f"match ref->planseg {rates[-1][0]:.3f}, planseg->ref {rates[-1][1]:.3f}",
              flush=True)
    _report(args, sam_kwargs, side, times, np.array(rates), counts)


def _model(args: argparse.Namespace) -> torch.nn.Module:
    if args.arch.startswith("vit_") or not args.train_steps:
        return build_sam(args.arch, seed=0)
    if args.weights is not None and args.weights.exists():
        sam = build_sam(args.arch, seed=0)
        sam.load_state_dict(torch.load(args.weights, weights_only=True))
        return sam.eval()
    start = time.perf_counter()
    sam = train_toy_sam(args.arch, steps=args.train_steps)
    print(f"toy training: {args.train_steps} steps in {time.perf_counter() - start:.0f} s")
    if args.weights is not None:
        torch.save(sam.state_dict(), args.weights)
    return sam


def _report(args: argparse.Namespace, sam_kwargs: dict, side: int, times: dict,
            rates: np.ndarray, counts: list) -> None:
    ms = {k: 1e3 * float(np.mean(v)) for k, v in times.items()}
    print()
    weights = "random" if args.arch.startswith("vit_") or not args.train_steps else \
        f"toy-trained {args.train_steps} steps"
    cpu = platform.processor() or platform.machine()
    print(f"arch {args.arch} ({weights} weights), {args.pages} pages {side}x{side} px, "
          f"SAM params {sam_kwargs or 'defaults'}, {args.threads} thread(s), "
          f"torch {torch.__version__}, {cpu}")
    print(f"masks per page: reference {np.mean([c[0] for c in counts]):.1f}, "
          f"planseg {np.mean([c[1] for c in counts]):.1f}")
    print("| generator | ms / page | speed-up | ref masks matched | own masks matched |")
    print("|---|---:|---:|---:|---:|")
    print(f"| reference SamAutomaticMaskGenerator | {ms['reference']:.0f} | 1.00x | | |")
    for name, col in (("planseg", 0), ("planseg (no blank skip)", 2)):
        print(f"| {name} FastMaskGenerator | {ms[name]:.0f} | "
              f"{ms['reference'] / ms[name]:.2f}x | {rates[:, col].mean():.3f} | "
              f"{rates[:, col + 1].mean():.3f} |")
    print(f"| (image encoder alone, included above) | {ms['encoder']:.0f} | | | |")


if __name__ == "__main__":
    main()
