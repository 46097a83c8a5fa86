"""Export documents: vectorise each page once (with its preview), write every format.

The one writer of a document's files. The segment pipeline exports each page in a worker
process as soon as its detections are known (:func:`export_pdf_page` -> :class:`PageExport`,
features and preview) and writes the document when all its pages are in
(:func:`write_document`); the run then merges the COCO part into ``DIR/coco.json`` with
:func:`planseg.export.coco.update_coco_file`. :func:`export_document` does both steps at once
for pages already in memory. Nothing here imports torch.

Layout under ``out_dir`` for a document named ``a/b/plan.pdf``:
``a/b/plan.geojson``, ``a/b/plan.gpkg`` and ``previews/a/b/plan-p<page>.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from planseg.export.base_map import base_map_features
from planseg.export.classes import assign_classes
from planseg.export.coco import document_coco
from planseg.export.config import ExportConfig
from planseg.export.crs import resolve_frame
from planseg.export.features import PageFeature, page_features
from planseg.export.geojson import feature_collection, write_geojson
from planseg.export.preview import write_preview
from planseg.export.types import Detection, PageMasks
from planseg.ingest.documents import Document, cached_document
from planseg.ingest.georef import read_georef
from planseg.ingest.legend import read_legend
from planseg.ingest.legend_types import PageLegend
from planseg.ingest.render import page_pixel_size, page_transforms, render_page
from planseg.ingest.text import page_words

log = logging.getLogger(__name__)

#: Largest page whose image is rendered for fill colours and previews. Export's colour and
#: vectorising steps hold several page-sized int64 arrays for a page-sized mask (an A0 sheet
#: at 300 DPI, 140 Mpx, peaked at 5.7 GiB), so beyond this the page goes without.
IMAGE_BUDGET_PX = 50_000_000


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


def number_features(features: list[list[PageFeature]]) -> list[list[PageFeature]]:
    """Renumber ``PageFeature.id`` (in place) 1.. through a document, in page order; for
    pages vectorised separately (e.g. in worker processes)."""
    next_id = 1
    for page_feats in features:
        for feature in page_feats:
            feature.id = next_id
            next_id += 1
    return features


@dataclass
class PageExport:
    """A vectorised page: ``page`` (its image dropped once used), its features (ids 1..n within
    the page, renumbered per document by :func:`write_document`) and its preview, if any."""

    page: PageMasks
    features: list[PageFeature]
    paths: list[Path] = field(default_factory=list)


def export_page(page: PageMasks, config: ExportConfig, out_dir: Path) -> PageExport:
    """Vectorise one page's detections, give each polygon its legend class and, with
    ``config.previews``, draw its preview (the one place previews are drawn)."""
    features = page_features(page, config, first_id=1)
    classes = assign_classes([f.properties.get("fill_rgb") for f in features],
                             [f.properties["text"] for f in features], page.legend, config)
    for feature, properties in zip(features, classes, strict=True):
        feature.properties.update(properties)
    if config.drop_base_map:
        features = _without_base_map(page, features, config)
    result = PageExport(page=page, features=features)
    if config.previews:
        path = preview_path(out_dir, page.document, page.page_number)
        write_preview(path, page.image, features, size_px=(page.width_px, page.height_px),
                      opacity=config.preview_opacity)
        result.paths.append(path)
    return result


def _without_base_map(page: PageMasks, features: list[PageFeature],
                      config: ExportConfig) -> list[PageFeature]:
    """``features`` less the base map (:mod:`planseg.export.base_map`), renumbered 1..n;
    how many were left out is logged once per page."""
    base = base_map_features(features, page.legend, config)
    if not any(base):
        return features
    kept = [f for f, is_base in zip(features, base, strict=True) if not is_base]
    for number, feature in enumerate(kept, start=1):
        feature.id = number
    log.info("%s page %d: %d grey shapes the legend does not name left out as base map "
             "(export.drop_base_map: false keeps them)", page.document, page.page_number,
             sum(base))
    return kept


@dataclass(frozen=True)
class PageSource:
    """Where a page comes from and how it was segmented (a segment worker's task input)."""

    path: Path
    document: str
    page_index: int
    dpi: float
    max_pixels: int
    engine: str | None = None
    page_kind: str | None = None
    # the page's legend where the engine read it in its own pass over the drawing (the
    # vector reader's VectorPage.legend); None: export reads it
    legend: PageLegend | None = None


def export_pdf_page(source: PageSource, detections: list[Detection], config: ExportConfig,
                    out_dir: Path) -> PageExport:
    """A segment worker's task: read what export needs of the page (transforms,
    georeferencing, words, legend, and the image for fill colours and previews) and
    :func:`export_page` its ``detections`` (full-page pixel frame)."""
    path, document, page_index = source.path, source.document, source.page_index
    dpi, max_pixels = source.dpi, source.max_pixels
    doc = cached_document(path)
    width_px, height_px = page_pixel_size(doc, page_index, dpi)
    pixel_to_pdf, _ = page_transforms(doc, page_index, dpi)
    # The image only feeds fill colours (drawn zones know theirs) and previews; a page over
    # the budget goes without rather than exhausting memory.
    wanted = config.previews or any(d.fill_rgb is None for d in detections)
    image = (render_page(doc, page_index, dpi=dpi, max_pixels=max_pixels).image
             if wanted and width_px * height_px <= min(max_pixels, IMAGE_BUDGET_PX) else None)
    page = PageMasks(document=document, page_number=page_index + 1, width_px=width_px,
                     height_px=height_px, dpi=dpi, pixel_to_pdf=pixel_to_pdf,
                     georef=read_georef(doc, page_index), words=page_words(doc, page_index),
                     detections=detections, image=image, engine=source.engine,
                     page_kind=source.page_kind,
                     legend=_legend(doc, page_index, detections, source.legend)
                     if config.classes else None)
    result = export_page(page, config, out_dir)
    page.image = None  # the device process needs detections and transforms only
    return result


def _legend(doc: Document, page_index: int, detections: list[Detection],
            known: PageLegend | None) -> PageLegend | None:
    """The page's legend where it has polygons to classify (``known`` where the engine read
    it already); why classes may stay empty is logged once per page."""
    if not detections:
        return None
    legend = read_legend(doc, page_index) if known is None else known
    for note in legend.notes:
        log.info("%s page %d: legend: %s", doc.path.name, page_index + 1, note)
    return legend


def export_document(pages: Sequence[PageMasks], out_dir: Path,
                    config: ExportConfig | None = None) -> DocumentExport:
    """Vectorise ``pages`` (all pages of one document, in order, in memory), write previews
    and the configured formats under ``out_dir``, named after ``pages[0].document``."""
    config = config or ExportConfig()
    return write_document([export_page(page, config, out_dir) for page in pages], config,
                          out_dir)


def write_document(exports: Sequence[PageExport], config: ExportConfig,
                   out_dir: Path) -> DocumentExport:
    """Write one document's GeoJSON / GeoPackage from its exported pages (in page order; ids
    renumbered 1.. through the document) and build its COCO part. The returned paths include
    the pages' previews. Every file is replaced atomically."""
    pages = [export.page for export in exports]
    features = number_features([export.features for export in exports])
    documents = {page.document for page in pages}
    if len(documents) != 1:
        raise ValueError(f"a document's pages are needed, got documents {documents}")
    document = pages[0].document
    result = DocumentExport(document=document, polygons=sum(len(f) for f in features),
                            paths=[path for export in exports for path in export.paths])
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
