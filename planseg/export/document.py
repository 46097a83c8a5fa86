"""Export one document: vectorise its pages once, write every requested format.

The segment runner calls :func:`export_document` with a finished document's pages (in a worker
process: nothing here imports torch) and merges the returned COCO part into
``DIR/coco.json`` with :func:`planseg.export.coco.merge_coco`.

Layout under ``out_dir`` for a document named ``a/b/plan.pdf``:
``a/b/plan.geojson``, ``a/b/plan.gpkg`` and ``previews/a/b/plan-p<page>.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from planseg.export.coco import document_coco
from planseg.export.config import ExportConfig
from planseg.export.crs import resolve_frame
from planseg.export.features import PageFeature, page_features
from planseg.export.geojson import feature_collection, write_geojson
from planseg.export.preview import write_preview
from planseg.export.types import PageMasks

log = logging.getLogger(__name__)


@dataclass
class DocumentExport:
    """What :func:`export_document` produced: files written, polygon count, the document's
    COCO part (local ids; ``None`` unless "coco" is among the formats)."""

    document: str
    paths: list[Path] = field(default_factory=list)
    polygons: int = 0
    coco: dict | None = None


def output_stem(document: str) -> PurePosixPath:
    """Relative output path of a document without its extension: ``a/b/plan.pdf`` ->
    ``a/b/plan``."""
    path = PurePosixPath(document)
    return path.with_suffix("") if path.suffix else path


def vectorise_document(pages: Sequence[PageMasks],
                       config: ExportConfig) -> list[list[PageFeature]]:
    """Features of every page; ids run 1.. through the whole document."""
    features: list[list[PageFeature]] = []
    next_id = 1
    for page in pages:
        page_feats = page_features(page, config, first_id=next_id)
        next_id += len(page_feats)
        features.append(page_feats)
    return features


def export_document(pages: Sequence[PageMasks], out_dir: Path,
                    config: ExportConfig | None = None) -> DocumentExport:
    """Vectorise ``pages`` (all pages of one document, in order) and write the configured
    formats under ``out_dir``, named after ``pages[0].document``. Files are atomic."""
    config = config or ExportConfig()
    documents = {page.document for page in pages}
    if len(documents) != 1:
        raise ValueError(f"export_document needs the pages of one document, got {documents}")
    document = pages[0].document
    features = vectorise_document(pages, config)
    result = DocumentExport(document=document, polygons=sum(len(f) for f in features))
    stem = Path(out_dir) / output_stem(document)
    if "geojson" in config.formats:
        path = stem.with_name(stem.name + ".geojson")
        write_geojson(path, feature_collection(pages, features,
                                               resolve_frame(config.crs, pages)))
        result.paths.append(path)
    if "gpkg" in config.formats:
        from planseg.export.gpkg import write_gpkg  # loads GDAL: only when asked for

        path = stem.with_name(stem.name + ".gpkg")
        write_gpkg(path, pages, features, resolve_frame(config.crs, pages, native=True))
        result.paths.append(path)
    if "coco" in config.formats:
        result.coco = document_coco(pages, features)
    if config.previews:
        for page, page_feats in zip(pages, features, strict=True):
            path = (Path(out_dir) / "previews" / output_stem(document)).with_name(
                f"{output_stem(document).name}-p{page.page_number}.png")
            write_preview(path, page.image, page_feats, size_px=(page.width_px, page.height_px),
                          opacity=config.preview_opacity)
            result.paths.append(path)
    log.debug("exported %s: %d polygons", document, result.polygons)
    return result
