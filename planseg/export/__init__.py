"""Export: masks -> valid polygons in the right coordinates, in formats GIS and COCO tools read.

No torch here, so vector work runs in light worker processes. Entry points:

- :mod:`planseg.export.types`: ``Detection`` and ``PageMasks``, what the mask generator hands over;
- :func:`planseg.export.document.export_document`: one document's pages -> GeoJSON / GeoPackage /
  previews, plus its COCO part; :func:`planseg.export.coco.update_coco_file` keeps
  ``DIR/coco.json`` covering every page processed so far;
- :mod:`planseg.export.vectorize` (mask -> polygons), :mod:`planseg.export.partition`
  (``--partition``), :mod:`planseg.export.crs` (frames), :mod:`planseg.export.features`
  (properties);
- :func:`planseg.export.evaluate.coco_metrics` and ``run`` (``planseg evaluate``).
"""
