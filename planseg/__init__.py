"""planseg: urban-planning PDFs to vector polygons with Segment Anything.

Pipeline packages, data flowing one way:
``ingest`` (PDF pages -> pixels + transforms) -> ``infer`` (SAM automatic masks)
-> ``export`` (polygons, GeoJSON, COCO); ``ingest`` -> ``train`` (fine-tuning).
``models`` holds the SAM registry and checkpoint loading shared by ``train`` and ``infer``;
``synth`` generates synthetic zoning maps with ground truth.
"""

from __future__ import annotations

__version__ = "0.1.0"
