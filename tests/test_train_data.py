"""Training data: both layouts, one DatasetError listing every problem, RLE, cache, views."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from train_toy import make_dataset, write_split

from planseg.errors import DatasetError
from planseg.train.config import DatasetConfig, PromptConfig
from planseg.train.data import load_splits, split_pages
from planseg.train.samples import EpochSampler, PageViews


def _coco(folder: Path) -> dict:
    return json.loads((folder / "annotations.json").read_text())


def _save(folder: Path, coco: dict) -> None:
    (folder / "annotations.json").write_text(json.dumps(coco))


def test_bad_dataset_lists_every_problem_at_once(tmp_path):
    data = make_dataset(tmp_path / "d", train_pages=4, val_pages=2)
    secret = tmp_path / "d" / "secret.png"
    secret.write_bytes(b"not read")
    coco = _coco(data / "train")
    coco["images"][0]["file_name"] = "../../secret.png"  # escapes images/ (and train/)
    coco["images"][1]["file_name"] = "gone.png"
    ann_of = {a["image_id"]: a for a in coco["annotations"]}
    ann_of[3]["segmentation"] = [[1.0, 1.0, 5.0, 5.0, 9.0, 9.0]]  # collinear: zero area
    ann_of[4]["bbox"] = [150.0, 100.0, 500.0, 20.0]  # runs off the 192 px wide page
    coco["annotations"].append({"id": 99, "image_id": 4, "category_id": 1, "iscrowd": 0,
                                "segmentation": {"size": [10, 10], "counts": "abc"}})
    _save(data / "train", coco)
    with pytest.raises(DatasetError) as caught:
        load_splits(data, DatasetConfig(cache=False), None)
    message = str(caught.value)
    assert "5 problem(s)" in message
    assert "image 1: file_name '../../secret.png' escapes the dataset folder (refused" in message
    assert "image 2: image file 'gone.png' is missing" in message
    assert f"annotation {ann_of[3]['id']} (image 3): degenerate polygon" in message
    assert f"annotation {ann_of[4]['id']} (image 4): box" in message
    assert "annotation 99 (image 4): RLE size [10, 10]" in message


def test_absolute_file_name_is_refused(tmp_path):
    data = make_dataset(tmp_path / "d", train_pages=2, val_pages=2)
    coco = _coco(data / "val")
    coco["images"][0]["file_name"] = str((data / "train" / "images").resolve() / "x.png")
    _save(data / "val", coco)
    with pytest.raises(DatasetError, match="escapes the dataset folder"):
        load_splits(data, DatasetConfig(cache=False), None)


def test_flat_layout_is_split_by_document_and_negatives_reported(tmp_path):
    coco = write_split(tmp_path / "d" / "data", 6, seed=3)
    coco["images"][0]["pdf"] = coco["images"][1]["pdf"] = "same.pdf"  # two pages, one doc
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != 6]  # negative
    _save(tmp_path / "d" / "data", coco)
    skipped = load_splits(tmp_path / "d", DatasetConfig(val_size=0.4, cache=False), None)
    kept = load_splits(tmp_path / "d", DatasetConfig(val_size=0.4, cache=False,
                                                     keep_negatives=True), None)
    assert len(skipped.train) + len(skipped.val) == 5
    assert len(kept.train) + len(kept.val) == 6
    assert any("1 image(s) without annotations skipped" in n for n in skipped.notes)
    assert any("kept as negatives" in n for n in kept.notes)
    docs_train = {p.pdf for p in skipped.train}
    assert not docs_train & {p.pdf for p in skipped.val}
    again = load_splits(tmp_path / "d", DatasetConfig(val_size=0.4, cache=False), None)
    assert [p.image_id for p in again.val] == [p.image_id for p in skipped.val]
    with pytest.raises(DatasetError, match="no validation set"):
        load_splits(tmp_path / "d", DatasetConfig(auto_split=False, cache=False), None)


def test_split_needs_two_documents(tmp_path):
    pages = load_splits(make_dataset(tmp_path / "d", train_pages=2, val_pages=1),
                        DatasetConfig(cache=False), None).val
    with pytest.raises(DatasetError, match="cannot split"):
        split_pages(pages, 0.5, 0)


def test_rle_annotations_and_metadata_cache(tmp_path):
    data = make_dataset(tmp_path / "d", train_pages=2, val_pages=2)
    coco = _coco(data / "train")
    polygon_masks = []
    for ann in coco["annotations"]:
        image = coco["images"][ann["image_id"] - 1]
        h, w = image["height"], image["width"]
        rle = mask_utils.merge(mask_utils.frPyObjects(ann["segmentation"], h, w))
        polygon_masks.append(mask_utils.decode(rle))
        ann["segmentation"] = {"size": [h, w], "counts": rle["counts"].decode()}
    coco["annotations"][0]["segmentation"] = {  # uncompressed RLE too
        "size": [h, w], "counts": _uncompressed(polygon_masks[0])}
    _save(data / "train", coco)
    cache = tmp_path / "cache"
    first = load_splits(data, DatasetConfig(), cache)
    assert len(list(cache.glob("dataset-*.json"))) == 2
    decoded = np.concatenate([p.decode() for p in first.train])
    assert np.array_equal(decoded, np.stack(polygon_masks).astype(bool))
    second = load_splits(data, DatasetConfig(), cache)
    assert second.train == first.train
    coco["annotations"].pop()
    _save(data / "train", coco)  # a changed file misses the cache
    assert sum(len(p.rles) for p in load_splits(data, DatasetConfig(), cache).train) == \
        len(polygon_masks) - 1


def _uncompressed(mask: np.ndarray) -> list[int]:
    flat = mask.T.reshape(-1)  # COCO RLE runs are column-major
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [len(flat)]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def test_views_crop_large_pages_and_masks_match_pixels(tmp_path):
    data = make_dataset(tmp_path / "d", train_pages=3, val_pages=1, large_every=2)
    pages = load_splits(data, DatasetConfig(cache=False), None).train
    views = PageViews(pages, img_size=128, dataset=DatasetConfig(crops_per_page=2, crop_px=256),
                      prompts=PromptConfig(points_per_side=8), seed=0)
    assert len(views) == 3 + 2 * 2  # whole pages + 2 crops of each of the 2 large pages
    for index in range(len(views)):
        sample = views[(0, index, False)]
        image, masks = sample["image"].numpy(), sample["masks"].numpy()
        assert max(image.shape[1:]) == 128
        assert masks.shape[1:] == image.shape[1:] and len(masks) >= 1
        for mask in masks:  # the drawn polygons are coloured, the background white
            inner = mask & ~_edge(mask)
            assert (image[:, inner] < 250).any(axis=0).mean() > 0.9
        points = sample["points"].numpy().astype(int)
        assert all(masks[i, y, x] for i, (x, y) in enumerate(points[:, 0]))
    crop = 1  # views: page 0 whole, its 2 crops, page 1 whole, page 2 whole, its 2 crops
    a, b = views[(0, crop, False)], views[(0, crop, False)]
    assert np.array_equal(a["image"], b["image"]) and np.array_equal(a["points"], b["points"])
    later = [views[(epoch, crop, False)]["image"] for epoch in range(1, 5)]
    assert not all(np.array_equal(a["image"], image) for image in later)  # fresh per epoch


def _edge(mask: np.ndarray) -> np.ndarray:
    import cv2

    eroded = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8))
    return mask & ~eroded.astype(bool)


def test_epoch_sampler_shards_cover_each_sample_once():
    keys = [list(EpochSampler(7, seed=1, rank=r, world_size=3)) for r in range(3)]
    assert {len(k) for k in keys} == {3}
    real = sorted(i for shard in keys for (_, i, pad) in shard if not pad)
    assert real == list(range(7))
    assert sum(pad for shard in keys for (_, _, pad) in shard) == 2
    single = EpochSampler(7, seed=1)
    order0 = [i for _, i, _ in single]
    single.use_epoch(1)
    assert order0 != [i for _, i, _ in single]
