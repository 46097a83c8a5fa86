"""CUDA checks of planseg's mask generator (run by benchmarks/gpu.sh; random weights).

1. bf16 vs fp32 FastMaskGenerator output agreement (match rates at mask IoU >= 0.9) and
   reference SamAutomaticMaskGenerator (fp32) agreement, on vit_b.
2. pages/s for vit_b and vit_h (encoder + decoder + postprocessing, 1024 px pages).
3. multi-GPU scaling: one process per GPU, each timing its share of pages.
Prints a Markdown table; writes it to $OUT/gpu_results.md when $OUT is set.
Random weights give near-zero logits, so thresholds are lowered to keep candidates alive and
the decoder scale is sharpened (x300) so masks have structure; both sides get the same model.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from amg_toy import zoning_page  # noqa: E402
from bench_amg import match_rate  # noqa: E402

from planseg.infer.amg import FastMaskGenerator  # noqa: E402
from planseg.infer.config import AmgConfig  # noqa: E402
from planseg.models.registry import build_sam  # noqa: E402

PARAMS = dict(points_per_side=32, pred_iou_thresh=0.0, stability_score_thresh=0.6,
              stability_score_offset=1.0, points_per_batch=256)
BUDGET_S = float(os.environ.get("GPU_CHECK_BUDGET_S", "360"))
START = time.perf_counter()


def _model(arch: str, device: str) -> torch.nn.Module:
    sam = build_sam(arch, seed=0)
    with torch.no_grad():
        for mlp in sam.mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight *= 300.0
    return sam.to(device).eval()


def _pages(n: int) -> list[np.ndarray]:
    return [zoning_page(900 + i, 1024, 1024)[0] for i in range(n)]


def agreement(lines: list[str]) -> None:
    from segment_anything import SamAutomaticMaskGenerator

    sam = _model("vit_b", "cuda")
    rates = []
    for image in _pages(2):
        fp32 = FastMaskGenerator(sam, AmgConfig(**PARAMS, bf16=False)).generate(image)
        bf16 = FastMaskGenerator(sam, AmgConfig(**PARAMS, bf16=True)).generate(image)
        ref = SamAutomaticMaskGenerator(sam, output_mode="coco_rle", **PARAMS).generate(image)
        rates.append((len(fp32), len(bf16), len(ref), match_rate(fp32, bf16),
                      match_rate(bf16, fp32), match_rate(ref, fp32), match_rate(fp32, ref)))
    r = np.array(rates)
    lines += ["| check (vit_b, 2 pages) | value |", "|---|---:|",
              f"| masks/page fp32 / bf16 / reference | {r[:, 0].mean():.1f} / "
              f"{r[:, 1].mean():.1f} / {r[:, 2].mean():.1f} |",
              f"| fp32 masks matched by bf16 | {r[:, 3].mean():.3f} |",
              f"| bf16 masks matched by fp32 | {r[:, 4].mean():.3f} |",
              f"| reference masks matched by planseg fp32 | {r[:, 5].mean():.3f} |",
              f"| planseg fp32 masks matched by reference | {r[:, 6].mean():.3f} |", ""]


def throughput(arch: str, device: str, pages: list[np.ndarray], bf16: bool) -> float:
    """Pages/s after one warm-up page."""
    sam = _model(arch, device)
    gen = FastMaskGenerator(sam, AmgConfig(**PARAMS, bf16=bf16))
    gen.generate(pages[0])
    torch.cuda.synchronize()
    start = time.perf_counter()
    for image in pages:
        gen.generate(image)
    torch.cuda.synchronize()
    return len(pages) / (time.perf_counter() - start)


def _worker(rank: int, arch: str, n: int, queue: mp.Queue) -> None:
    queue.put(throughput(arch, f"cuda:{rank}", _pages(n), True))


def scaling(lines: list[str], n_gpus: int) -> None:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    start = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(r, "vit_b", 6, queue)) for r in range(n_gpus)]
    for p in procs:
        p.start()
    rates = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    lines += [f"| {n_gpus} GPUs vit_b bf16 | {sum(rates):.2f} pages/s (sum of per-GPU rates; "
              f"wall incl. start {time.perf_counter() - start:.0f} s) |", ""]


def main() -> None:
    name = torch.cuda.get_device_name(0)
    lines = [f"## GPU — `benchmarks/gpu.sh` ({name}, {torch.cuda.device_count()} GPU(s), "
             f"torch {torch.__version__})", "",
             f"Random weights (decoder sharpened), 1024x1024 toy zoning pages, {PARAMS}.", ""]
    agreement(lines)
    lines += ["| arch | precision | pages/s |", "|---|---|---:|"]
    for arch in ("vit_b", "vit_h"):
        for bf16 in (True, False):
            if time.perf_counter() - START > BUDGET_S:
                lines.append(f"| {arch} | {'bf16' if bf16 else 'fp32'} | skipped (budget) |")
                continue
            rate = throughput(arch, "cuda", _pages(4), bf16)
            lines.append(f"| {arch} | {'bf16' if bf16 else 'fp32'} | {rate:.2f} |")
            print("\n".join(lines[-1:]), flush=True)
    lines.append("")
    if torch.cuda.device_count() > 1 and time.perf_counter() - START < BUDGET_S:
        scaling(lines, torch.cuda.device_count())
    text = "\n".join(lines)
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_results.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
