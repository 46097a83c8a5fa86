"""README promises about real runs, checked as a user would meet them: the packaged default
model, the README's own commands (issue 20). The README's *Guarantees* table names these."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from planseg.export.metrics import coco_metrics
from planseg.infer.amg import FastMaskGenerator, embed_image
from planseg.infer.config import AmgConfig
from planseg.infer.model import power_of_two_threads, same_results_on_any_thread_count
from planseg.models.checkpoints import load_model

#: Loaded into every Python process started with it on PYTHONPATH (worker processes too):
#: any connection or name lookup beyond this machine is written down and refused.
NETWORK_GUARD = '''\
import os, socket
_LOG = os.environ["PLANSEG_TEST_NETWORK_LOG"]
_LOCAL = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "")

def _refuse(what):
    with open(_LOG, "a") as log:
        log.write(f"{os.getpid()} {what}\\n")
    raise OSError(f"network disabled in this test: {what}")

def _connect(self, address, _real=socket.socket.connect):
    if isinstance(address, tuple) and address[0] not in _LOCAL:
        _refuse(f"connect {address}")
    return _real(self, address)

def _getaddrinfo(host, *args, _real=socket.getaddrinfo, **kwargs):
    if host not in _LOCAL and host is not None:
        _refuse(f"getaddrinfo {host}")
    return _real(host, *args, **kwargs)

socket.socket.connect = _connect
socket.getaddrinfo = _getaddrinfo
'''


def page_image() -> np.ndarray:
    """A 320x448 HxWx3 uint8 plan-like page: coloured zones with dark outlines on paper."""
    image = np.full((320, 448, 3), 245, np.uint8)
    for (x0, y0, x1, y1), rgb in [((20, 30, 200, 150), (230, 90, 80)),
                                   ((210, 30, 420, 290), (90, 150, 230)),
                                   ((20, 160, 200, 290), (240, 220, 90))]:
        image[y0:y1, x0:x1] = rgb
        image[y0:y1, (x0, x1 - 1)] = image[(y0, y1 - 1), x0:x1] = 30
    return image


def test_power_of_two_threads() -> None:
    assert [power_of_two_threads(n) for n in (0, 1, 2, 3, 4, 6, 12, 16, 100)] == \
        [1, 1, 2, 2, 4, 4, 8, 16, 64]


def test_default_model_gives_the_same_bits_at_1_2_and_4_threads() -> None:
    """What lets ``--devices 2 --accelerator cpu`` (a core per rank on 2 cores) write the bytes
    of a one-process run: the model's outputs do not move with a power-of-two thread count.
    Torch's defaults gave embeddings 1e-6 apart at 1 and 2 threads (oneDNN's 1x1 conv)."""
    loaded = load_model("planseg-default")
    sam = loaded.sam.eval()
    generator = FastMaskGenerator(sam, AmgConfig(points_per_side=8, **loaded.meta["amg_defaults"]))
    image = page_image()
    threads_before, onednn_before = torch.get_num_threads(), torch.backends.mkldnn.enabled
    found = {}
    for threads in (1, 2, 4):
        with same_results_on_any_thread_count("cpu", threads), torch.inference_mode():
            embedding = embed_image(sam, image)
            records = generator.generate(image, embedding)
        found[threads] = (embedding.features.numpy().tobytes(),
                          [(r["predicted_iou"], r["stability_score"], r["segmentation"]["counts"])
                           for r in records])
    assert found[1][1], "the model found no masks: nothing was compared"
    assert found[2] == found[1] and found[4] == found[1]
    assert (torch.get_num_threads(), torch.backends.mkldnn.enabled) == \
        (threads_before, onednn_before)  # the process is left as it was


@pytest.mark.slow
def test_quick_start_as_written_gives_one_classified_polygon_per_zone_offline(
        tmp_path: Path) -> None:
    """README *Quick start* step 1, its planseg commands verbatim (default engine and model,
    default workers), with the network refused in every process: the vector plans give "30
    polygons for the 30 zones, each with its legend code and name, none on the text pages";
    the scanned plan (its pages as images) one polygon per zone on its map and none on its
    text page; "nothing is downloaded at run time"."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    network_log = tmp_path / "network.log"
    env = {**os.environ, "PLANSEG_TEST_NETWORK_LOG": str(network_log),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(guard),
                                                       os.environ.get("PYTHONPATH")]))}
    for command in (["synth", "examples", "--docs", "2", "--seed", "7", "--sheet", "A4"],
                    ["synth", "examples/scanned", "--docs", "1", "--seed", "21", "--sheet", "A4",
                     "--style", "scan"],
                    ["segment", "examples/pdfs", "examples/scanned/data/images", "--out",
                     "polygons/", "--dpi", "100", "--previews"]):
        result = subprocess.run([sys.executable, "-m", "planseg", *command], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
    assert not network_log.exists(), network_log.read_text()
    out = tmp_path / "polygons"
    coco = json.loads((out / "coco.json").read_text())
    vector_pages = {im["id"] for im in coco["images"] if im["pdf"].endswith(".pdf")}
    vector = {**coco, "annotations": [a for a in coco["annotations"]
                                      if a["image_id"] in vector_pages],
              "images": [im for im in coco["images"] if im["id"] in vector_pages]}
    gt = json.loads((tmp_path / "examples" / "data" / "annotations.json").read_text())
    assert len(gt["annotations"]) == 30 and len(vector["annotations"]) == 30
    assert coco_metrics(gt, vector)["ap50"] == 1.0  # one polygon on each zone
    kinds = sorted((im["engine"], im["page_kind"]) for im in coco["images"])
    assert kinds == [("none", "text")] * 5 + [("sam", "map")] + [("vector", "map")] * 2
    features = [f for path in sorted((out / "doc-000.geojson", out / "doc-001.geojson"))
                for f in json.loads(path.read_text())["features"]]
    assert len(features) == 30
    assert all(f["properties"]["class_code"] and f["properties"]["class_label"]
               for f in features)
    scanned_gt = json.loads((tmp_path / "examples" / "scanned" / "data" /
                             "annotations.json").read_text())
    scanned = {**coco, "images": [{**im, "file_name": im["pdf"]} for im in coco["images"]
                                  if im["id"] not in vector_pages]}
    scanned["annotations"] = [a for a in coco["annotations"] if a["image_id"] not in vector_pages]
    gt_by_image = {**scanned_gt, "images": [{**im, "pdf": im["file_name"], "page": 1}
                                           for im in scanned_gt["images"]]}
    scores = coco_metrics(gt_by_image, scanned)
    assert scores["ap50"] >= 0.9 and scores["polygons_per_gt_zone"] <= 1.2
    assert scores["predictions_on_empty_pages"] == 0
    assert (out / "previews" / "doc-000-p2-p1.png").is_file()  # the scanned map's preview
