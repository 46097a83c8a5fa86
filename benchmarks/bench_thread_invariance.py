"""Do the model's outputs depend on the CPU thread count, and what does making them not cost?
(CPU, not a test; issue 20.)

The packaged default model's mask generator on a few `planseg synth` pages, run at several
torch thread counts in two modes: torch's defaults (oneDNN on) and planseg's
``same_results_on_any_thread_count`` (oneDNN off). Prints, per mode, which thread counts give
bit-identical records (predicted IoU, stability score, RLE) and embeddings to 1 thread, then
the time of both modes at the same thread count, interleaved, best of ``--repeats``.

    .venv/bin/python benchmarks/bench_thread_invariance.py
    .venv/bin/python benchmarks/bench_thread_invariance.py --threads 1 2 3 4 8 --dpi 60
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from planseg.infer.amg import FastMaskGenerator, embed_image
from planseg.infer.config import AmgConfig
from planseg.infer.model import same_results_on_any_thread_count
from planseg.models.checkpoints import load_model


def synth_pages(folder: Path, docs: int, dpi: float) -> list[np.ndarray]:
    """HxWx3 uint8 pages of ``planseg synth`` (A4, seed 3) rendered at ``dpi``."""
    subprocess.run([sys.executable, "-m", "planseg", "-q", "synth", str(folder), "--docs",
                    str(docs), "--seed", "3", "--sheet", "A4", "--dpi", str(dpi)], check=True)
    return [np.asarray(Image.open(p).convert("RGB"))
            for p in sorted((folder / "data" / "images").glob("*.png"))]


def outputs(generator: FastMaskGenerator, pages: list[np.ndarray]) -> list[np.ndarray]:
    """Everything the run writes that comes from the model, as arrays to compare bitwise."""
    found = []
    for page in pages:
        embedding = embed_image(generator.sam, page)
        records = generator.generate(page, embedding)
        found += [embedding.features.numpy().copy(),
                  np.array([r["predicted_iou"] for r in records]),
                  np.array([r["stability_score"] for r in records]),
                  np.frombuffer("".join(r["segmentation"]["counts"] for r in records).encode(),
                                dtype=np.uint8)]
    return found


def mode(name: str, threads: int):
    if name == "planseg":
        return same_results_on_any_thread_count("cpu", threads)
    torch.set_num_threads(threads)
    return nullcontext()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--docs", type=int, default=3)
    parser.add_argument("--dpi", type=float, default=40)
    parser.add_argument("--points-per-side", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    machine_threads = torch.get_num_threads()
    loaded = load_model("planseg-default")
    amg = replace(AmgConfig(points_per_side=args.points_per_side), **loaded.meta["amg_defaults"])
    generator = FastMaskGenerator(loaded.sam.eval(), amg)
    with tempfile.TemporaryDirectory() as tmp:
        pages = synth_pages(Path(tmp) / "synth", args.docs, args.dpi)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{len(pages)} pages {pages[0].shape[1]}x{pages[0].shape[0]} px")
    for name in ("torch defaults", "planseg"):
        results = {}
        for threads in args.threads:
            with mode(name, threads), torch.inference_mode():
                results[threads] = outputs(generator, pages)
        base = results[args.threads[0]]
        agree = [t for t, r in results.items()
                 if all(np.array_equal(a, b) for a, b in zip(base, r, strict=True))]
        print(f"{name:15s}: same bits as {args.threads[0]} thread(s) at {agree} "
              f"of {args.threads}")
    threads = machine_threads
    best = {"torch defaults": float("inf"), "planseg": float("inf")}
    for _ in range(args.repeats):
        for name in best:
            with mode(name, threads), torch.inference_mode():
                started = time.perf_counter()
                for page in pages:
                    generator.generate(page)
                best[name] = min(best[name], time.perf_counter() - started)
    print(f"| threads | torch defaults (s) | planseg (s) | ratio |\n|---|---|---|---|\n"
          f"| {threads} | {best['torch defaults']:.2f} | {best['planseg']:.2f} | "
          f"{best['planseg'] / best['torch defaults']:.2f} |")


if __name__ == "__main__":
    main()
