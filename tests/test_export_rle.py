"""RLE helpers and the Detection/PageMasks contract types."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planseg.export.rle import decode_rle, decode_rle_box, encode_mask, rle_area
from planseg.export.types import Detection


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.integers(0, 2**31 - 1), st.data())
def test_box_decode_equals_full_decode_crop(height: int, width: int, seed: int, data) -> None:
    mask = np.random.default_rng(seed).random((height, width)) < 0.4
    rle = encode_mask(mask)
    x0 = data.draw(st.integers(0, width))
    x1 = data.draw(st.integers(x0, width))
    y0 = data.draw(st.integers(0, height))
    y1 = data.draw(st.integers(y0, height))
    assert np.array_equal(decode_rle(rle), mask)
    assert np.array_equal(decode_rle_box(rle, (x0, y0, x1, y1)), mask[y0:y1, x0:x1])
    assert rle_area(rle) == mask.sum()


def test_detection_from_mask_and_amg_record() -> None:
    mask = np.zeros((30, 40), bool)
    mask[5:9, 10:25] = True
    det = Detection.from_mask(mask, score=0.7)
    assert det.bbox_xywh == (10.0, 5.0, 15.0, 4.0)
    assert det.predicted_iou == 0.7 and isinstance(det.rle["counts"], str)
    record = {"segmentation": {"size": [30, 40], "counts": det.rle["counts"].encode()},
              "bbox": [10, 5, 15, 4], "predicted_iou": 0.8, "stability_score": 0.95}
    from_amg = Detection.from_amg_record(record)
    assert from_amg.score == 0.8 and from_amg.rle["counts"] == det.rle["counts"]
    assert np.array_equal(decode_rle(from_amg.rle), mask)


def test_export_does_not_import_torch() -> None:
    import subprocess
    import sys

    modules = ", ".join(f"planseg.export.{m}" for m in (
        "document", "coco", "gpkg", "figures", "evaluate", "partition", "crs"))
    code = f"import sys, {modules}; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
