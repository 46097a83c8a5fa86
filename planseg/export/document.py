"""Export one document: vectorise its pages once, write every requested format.

The segment runner calls :func:`export_document` with a finished document's pages (nothing here
imports torch), or vectorises pages separately in workers (``features.page_features``, then
:func:`number_features` and :func:`write_document`), and merges the COCO part into
``DIR/coco.json`` with :func:`planseg.export.coco.update_coco_file`.

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
    stem = path.with_suffix("") if path.suffix else path
    if stem.name in ("", ".", ".."):  # "..pdf" would otherwise name the folder above --out
        stem = path
    # no part may climb out of (or be) the output folder, however the name was made
    return PurePosixPath(*("_" if part in ("/", ".", "..") else part for part in stem.parts))


def preview_path(out_dir: Path, document: str, page_number: int) -> Path:
    """``out_dir/previews/<document without extension>-p<page>.png``."""
    stem = output_stem(document)
    return (Path(out_dir) / "previews" / stem).with_name(f"{stem.name}-p{page_number}.png")


def vectorise_document(pages: Sequence[PageMasks],
                       config: ExportConfig) -> list[list[PageFeature]]:
    """Features of every page; ids run 1.. through the whole document."""
    return number_features([page_features(page, config) for page in pages])


def number_features(features: list[list[PageFeature]]) -> list[list[PageFeature]]:
    """Renumber ``PageFeature.id`` (in place) 1.. through a document, in page order; for
    pages vectorised separately (e.g. in worker processes)."""
    next_id = 1
    for page_feats in features:
        for feature in page_feats:
            feature.id = next_id
            next_id += 1
    return features


def export_document(pages: Sequence[PageMasks], out_dir: Path,
                    config: ExportConfig | None = None) -> DocumentExport:
    """Vectorise ``pages`` (all pages of one document, in order), write previews and the
    configured formats under ``out_dir``, named after ``pages[0].document``. Atomic files."""
    config = config or ExportConfig()
    features = vectorise_document(pages, config)
    preview_paths = []
    if config.previews:
        for page, page_feats in zip(pages, features, strict=True):
            path = preview_path(out_dir, page.document, page.page_number)
            write_preview(path, page.image, page_feats, size_px=(page.width_px, page.height_px),
                          opacity=config.preview_opacity)
            preview_paths.append(path)
    result = write_document(pages, features, out_dir, config)
    result.paths += preview_paths
    return result


def write_document(pages: Sequence[PageMasks], features: Sequence[Sequence[PageFeature]],
                   out_dir: Path, config: ExportConfig) -> DocumentExport:
    """Write a document's GeoJSON / GeoPackage from its vectorised pages (``features[i]``
    belong to ``pages[i]``; ids as given) and build its COCO part. No previews."""
    documents = {page.document for page in pages}
    if len(documents) != 1:
        raise ValueError(f"a document's pages are needed, got documents {documents}")
    document = pages[0].document
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
    log.debug("exported %s: %d polygons", document, result.polygons)
    return result
