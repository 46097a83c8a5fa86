"""planseg: urban-planning PDFs to vector polygons with Segment Anything.

Pipeline packages, data flowing one way:
``ingest`` (PDF pages -> pixels + transforms, drawings, words) -> ``infer`` (an engine per
page: SAM automatic masks over tiles) -> ``export`` (polygons, GeoJSON, COCO, GPKG).
``train`` fine-tunes SAM on COCO-annotated pages (it reads images and annotations, not PDFs).
``models`` holds the SAM registry and checkpoint loading shared by ``train`` and ``infer``;
``synth`` generates synthetic zoning maps with ground truth.
"""

from __future__ import annotations

__version__ = "0.1.0"
