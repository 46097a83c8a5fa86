"""Export: masks -> valid polygons in the right coordinates, in formats GIS and COCO tools read.

No torch here, so vector work runs in light worker processes. Entry points:

- :mod:`planseg.export.types`: ``Detection`` and ``PageMasks``, what the mask generator hands over;
- :mod:`planseg.export.document`: the one writer of a document's files (a page at a time in
  workers, ``export_page``/``write_document``, or ``export_document`` for pages in memory):
  GeoJSON / GeoPackage / previews, plus its COCO part;
  :func:`planseg.export.coco.update_coco_file` keeps ``DIR/coco.json`` covering every page
  processed so far;
- :mod:`planseg.export.vectorize` (mask -> polygons), :mod:`planseg.export.partition`
  (``--partition``), :mod:`planseg.export.crs` (frames), :mod:`planseg.export.features`
  (properties);
- :mod:`planseg.export.metrics` (COCO and class scores) and :mod:`planseg.export.evaluate`
  (``planseg evaluate``).
"""
