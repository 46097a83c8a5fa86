"""Tiling plans: rectangles of the page raster that together cover it, with overlap."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """A tile in the full-page pixel frame: xyxy, exclusive end (``x1 - x0`` columns)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), the form ``render_page(clip_xyxy_px=...)`` takes."""
        return self.x0, self.y0, self.x1, self.y1

    @property
    def width_px(self) -> int:
        return self.x1 - self.x0

    @property
    def height_px(self) -> int:
        return self.y1 - self.y0


def tile_starts(length_px: int, tile_px: int, overlap_px: int) -> list[int]:
    """Start offsets along one axis: stride ``tile_px - overlap_px``, the last tile flush with
    the edge (so no tile sticks out and none is a sliver). One start (0) if the page is shorter
    than a tile."""
    if length_px <= tile_px:
        return [0]
    stride = tile_px - overlap_px
    starts = list(range(0, length_px - tile_px, stride))
    starts.append(length_px - tile_px)
    return starts


def plan_tiles(width_px: int, height_px: int, tile_px: int, overlap_px: int) -> list[Tile]:
    """Tiles covering a ``width_px`` x ``height_px`` raster, row by row, top to bottom.

    Every tile is ``tile_px`` square except along a side shorter than ``tile_px`` (then the
    tile is the whole side). Neighbours overlap by at least ``overlap_px`` (more for the last
    row/column, which is shifted back to end at the edge). Raises ValueError for sizes that
    cannot tile (non-positive sizes, ``overlap_px`` outside ``0 <= overlap_px < tile_px``).
    """
    if width_px <= 0 or height_px <= 0:
        raise ValueError(f"page size must be positive, got {width_px} x {height_px} px")
    if tile_px <= 0 or not 0 <= overlap_px < tile_px:
        raise ValueError(f"need tile_px > 0 and 0 <= overlap_px < tile_px, got "
                         f"tile_px={tile_px}, overlap_px={overlap_px}")
    return [Tile(x0, y0, min(x0 + tile_px, width_px), min(y0 + tile_px, height_px))
            for y0 in tile_starts(height_px, tile_px, overlap_px)
            for x0 in tile_starts(width_px, tile_px, overlap_px)]
