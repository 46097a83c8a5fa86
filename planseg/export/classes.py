"""Legend classes: which legend swatch a polygon is, and the run's COCO categories.

A polygon's colour (its ``fill_rgb`` property, 8-bit sRGB) is matched to the page legend's
swatches in CIELAB with CIEDE2000 (scikit-image); the code written inside the zone (its
``text`` property) confirms the colour, or decides where two swatches are too close to tell
apart, where the nearest swatch is hatched, or where the colour matches nothing. Nothing is
guessed: a polygon that neither can decide stays unclassified (every class property None).

No torch, no GDAL: the legend types are imported for typing only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from planseg.ingest.legend_types import rgb_to_hex

if TYPE_CHECKING:
    from planseg.export.config import ExportConfig
    from planseg.ingest.legend_types import LegendEntry, PageLegend

CLASS_KEYS = ("class_code", "class_label", "class_rgb", "class_source", "class_distance")
ZONE_CATEGORY = {"id": 1, "name": "zone"}  # as before classes: unclassified polygons

# characters a code may be wrapped in on a map ("(B2)", "B2,", "„R1“") but never contains
_WRAP = "()[]{}<>,;:.!?\"'«»„“”‘’"


def unclassified() -> dict[str, Any]:
    """The class properties of a polygon no class was decided for (all None)."""
    return dict.fromkeys(CLASS_KEYS)


def delta_e_2000(rgb: Sequence[int], swatches_rgb: Sequence[Sequence[int]]) -> np.ndarray:
    """CIEDE2000 distance from one 8-bit sRGB colour to each of N swatch colours -> (N,)
    float64. D65 white, scikit-image's conversion."""
    return delta_e_matrix([rgb], swatches_rgb)[0]


def delta_e_matrix(colours_rgb: Sequence[Sequence[int] | None],
                   swatches_rgb: Sequence[Sequence[int]]) -> np.ndarray:
    """CIEDE2000 distances, P 8-bit sRGB colours x N swatches -> (P, N) float64; a colour
    given as None gets a row of inf. Each colour is converted to CIELAB once."""
    from skimage.color import deltaE_ciede2000, rgb2lab  # ~0.3 s import: only when used

    out = np.full((len(colours_rgb), len(swatches_rgb)), np.inf)
    known = [i for i, c in enumerate(colours_rgb) if c is not None]
    if not known or not len(swatches_rgb):
        return out
    rgb = np.asarray([colours_rgb[i] for i in known] + list(swatches_rgb), np.float64) / 255
    lab = rgb2lab(rgb.reshape(1, -1, 3))[0]
    colours_lab, swatches_lab = lab[:len(known), None, :], lab[None, len(known):, :]
    out[known] = deltaE_ciede2000(colours_lab, swatches_lab)
    return out


def text_codes(text: str | None, entries: Sequence[LegendEntry]) -> set[str]:
    """Legend codes that appear in ``text`` as whole tokens (a code of several words as
    consecutive tokens); case-sensitive, so the article "a" is not the code "A"."""
    return _CodeFinder(entries)(text)


class _CodeFinder:
    """:func:`text_codes` for one legend and many texts: each code split into its words once,
    one-word codes (nearly all) found by set membership instead of a scan of the tokens."""

    def __init__(self, entries: Sequence[LegendEntry]) -> None:
        self.parts = [(code, code.split()) for code in {e.code for e in entries if e.code}]

    def __call__(self, text: str | None) -> set[str]:
        tokens = [t.strip(_WRAP) for t in (text or "").split()]
        words = set(tokens)
        found = set()
        for code, parts in self.parts:
            if len(parts) == 1:
                if parts[0] in words:
                    found.add(code)
            elif any(tokens[i:i + len(parts)] == parts
                     for i in range(len(tokens) - len(parts) + 1)):
                found.add(code)  # several words (or none: a blank code is in every text)
        return found


def assign_class(fill_rgb: Sequence[int] | None, text: str | None,
                 legend: PageLegend | None, config: ExportConfig | None = None
                 ) -> dict[str, Any]:
    """Class properties of one polygon: ``class_code``, ``class_label``, ``class_rgb``
    (the swatch colour, [r, g, b]), ``class_source`` ("colour", "text" or "both") and
    ``class_distance`` (ΔE2000 from ``fill_rgb`` to the chosen swatch, 2 decimals); all None
    when undecided.

    ``fill_rgb``: the polygon's dominant 8-bit sRGB colour (None when unknown); ``text``: the
    words inside the polygon. Rules, in order:

    1. a clear colour decides: the nearest swatch is within the colour threshold
       (:func:`max_delta_e`: ``class_max_delta_e_vector`` for vector legends,
       ``class_max_delta_e`` for legends read from pixels) and no swatch of another class
       lies within ``class_ambiguous_delta_e`` of that distance -> "both" when its code is
       also written inside, else "colour". Codes of other entries written inside do not
       overrule it: a large zone carries the labels of the overlays drawn over it (rights of
       way, planting rules: "GR", "LR 1", "Pfb 1" inside a Gemeinbedarf area in Plochingen),
       which are legend codes but not the zone's class;
    2. otherwise (colours too close, a hatched swatch sharing its base colour, or no swatch
       near) exactly one legend code written inside decides -> that code's swatch (the one
       nearest in colour if the code has several): "text" ("both" when colour found it
       among the swatches too close to tell apart);
    3. otherwise several codes inside narrow the colour's candidates to those codes: "both"
       when one of them is within the threshold;
    4. otherwise unclassified. (:func:`assign_classes` may still decide a polygon that
       colour alone finds ambiguous, by matching the whole page's zone colours to the
       swatches one-to-one, for legends read from pixels only: "colour".)
    """
    return assign_classes([fill_rgb], [text], legend, config)[0]


def assign_classes(fills_rgb: Sequence[Sequence[int] | None], texts: Sequence[str | None],
                   legend: PageLegend | None, config: ExportConfig | None = None
                   ) -> list[dict[str, Any]]:
    """:func:`assign_class` for a page's polygons at once (one CIELAB conversion per page:
    ~0.5 ms per call saved per polygon). ``fills_rgb[i]`` and ``texts[i]`` belong to
    polygon i; returns one class-properties dict per polygon. Unlike one-by-one calls, a
    polygon with no code inside whose colour is ambiguous between close swatches of a
    legend read from pixels may be decided by the page (:func:`_resolve_by_page_colours`)."""
    from planseg.export.config import ExportConfig  # config imports vectorize: keep lazy

    config = config or ExportConfig()
    entries = list(legend.entries) if legend is not None else []
    if not entries:
        return [unclassified() for _ in fills_rgb]
    distances = delta_e_matrix(list(fills_rgb), [e.rgb for e in entries])
    limit = max_delta_e(legend, config)
    codes_in = _CodeFinder(entries)
    decided: dict[tuple[bytes, frozenset[str]], dict[str, Any]] = {}
    out = []
    for row, text in zip(distances, texts, strict=True):
        # polygons of one colour share their distances (and mostly their codes): the rules
        # run once per (distances, codes) met; each polygon gets its own copy
        codes = frozenset(codes_in(text))
        key = (row.tobytes(), codes)
        if key not in decided:
            decided[key] = _decide(entries, row, set(codes), limit, config)
        properties = dict(decided[key])
        if properties["class_rgb"] is not None:
            properties["class_rgb"] = list(properties["class_rgb"])
        out.append(properties)
    if legend.source != "vector":  # pixel legends only: vector swatches are exact
        ambiguous = [i for i, (props, text) in enumerate(zip(out, texts, strict=True))
                     if props["class_source"] is None and fills_rgb[i] is not None
                     and not codes_in(text)
                     and len(_colour_candidates(entries, distances[i], config)) > 1]
        if ambiguous:
            for i, index in _resolve_by_page_colours(entries, fills_rgb, distances,
                                                     ambiguous, limit, config).items():
                out[i] = _properties(entries[index], distances[i, index], "colour")
    return out


def max_delta_e(legend: PageLegend, config: ExportConfig) -> float:
    """The colour threshold for ``legend``: ``class_max_delta_e_vector`` when its swatch
    colours come from the PDF's drawings (exact), else ``class_max_delta_e`` (read from
    pixels, faded and noisy like the zones)."""
    if legend.source == "vector":
        return config.class_max_delta_e_vector
    return config.class_max_delta_e


def _decide(entries: Sequence[LegendEntry], distances: np.ndarray, codes: set[str],
            limit: float, config: ExportConfig) -> dict[str, Any]:
    """The rules of :func:`assign_class` for one polygon: ``distances`` (N,) ΔE2000 to each
    swatch, ``codes`` the legend codes written inside it, ``limit`` the colour threshold."""
    candidates = _colour_candidates(entries, distances, config)
    if len(candidates) == 1 and distances[candidates[0]] <= limit:
        clear = entries[candidates[0]]
        return _properties(clear, distances[candidates[0]],
                           "both" if clear.code in codes else "colour")
    if len(codes) == 1:
        code = next(iter(codes))
        index = min((i for i, e in enumerate(entries) if e.code == code),
                    key=lambda i: distances[i])
        agrees = index in candidates and distances[index] <= limit
        return _properties(entries[index], distances[index], "both" if agrees else "text")
    # a polygon over several zones' labels: colour may choose among those codes
    candidates = [i for i in candidates if entries[i].code in codes]
    if len(candidates) != 1 or distances[candidates[0]] > limit:
        return unclassified()
    return _properties(entries[candidates[0]], distances[candidates[0]], "both")


def _colour_candidates(entries: Sequence[LegendEntry], distances: np.ndarray,
                       config: ExportConfig) -> list[int]:
    """Indices of the swatches colour cannot tell from the nearest one: within
    ``class_ambiguous_delta_e`` of the best distance, one per class (repeated swatches of
    the same class collapse to the nearest)."""
    if not np.isfinite(distances).any():
        return []
    best = float(distances.min())
    near = sorted((i for i in range(len(entries))
                   if distances[i] <= best + config.class_ambiguous_delta_e),
                  key=lambda i: (distances[i], i))
    chosen: dict[tuple, int] = {}
    for i in near:
        chosen.setdefault(_class_key(entries[i]), i)
    return list(chosen.values())


def _colour_clusters(fills_rgb: Sequence[Sequence[int] | None], distances: np.ndarray,
                     radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The page's distinct zone colours: each polygon with a fill joins the first cluster
    (seeded by the most frequent colours first) whose seed lies within ``radius`` ΔE2000.
    Returns (P,) int cluster per polygon (-1: no fill) and (K, N) the mean ΔE2000 of each
    cluster's polygons to the N swatches."""
    counts = Counter(tuple(int(c) for c in f) for f in fills_rgb if f is not None)
    colours = sorted(counts, key=lambda c: (-counts[c], c))
    between = delta_e_matrix(colours, colours)
    seeds: list[int] = []
    cluster_of_colour = {}
    for j, colour in enumerate(colours):
        home = next((k for k, s in enumerate(seeds) if between[j, s] <= radius), None)
        if home is None:
            home = len(seeds)
            seeds.append(j)
        cluster_of_colour[colour] = home
    labels = np.array([-1 if f is None else cluster_of_colour[tuple(int(c) for c in f)]
                       for f in fills_rgb])
    costs = np.stack([distances[labels == k].mean(axis=0) for k in range(len(seeds))])
    return labels, costs


def _assignment_cost(costs: np.ndarray, limit: float) -> tuple[float, np.ndarray]:
    """Least total ΔE2000 of matching K clusters one-to-one to N swatches, a cluster
    left unmatched costing ``limit`` (distances beyond it never pay). Returns the cost and
    (K,) the swatch index per cluster, -1 for unmatched."""
    from scipy.optimize import linear_sum_assignment

    n_clusters, n_swatches = costs.shape
    none = np.full((n_clusters, n_clusters), 1e9)
    np.fill_diagonal(none, limit)
    matrix = np.hstack([np.where(costs <= limit, costs, 1e9), none])
    rows, cols = linear_sum_assignment(matrix)
    matched = np.full(n_clusters, -1)
    matched[rows] = np.where(cols < n_swatches, cols, -1)
    return float(matrix[rows, cols].sum()), matched


def _resolve_by_page_colours(entries: Sequence[LegendEntry],
                             fills_rgb: Sequence[Sequence[int] | None],
                             distances: np.ndarray, ambiguous: list[int], limit: float,
                             config: ExportConfig) -> dict[int, int]:
    """Swatch index for the ambiguous polygons the page's colours decide one-to-one.

    A scan shifts the legend's swatches and the zones alike, so two close shades (R1/R2)
    that one polygon cannot tell apart are told apart by the page: its distinct zone
    colours (clusters of ``class_ambiguous_delta_e`` / 2) are matched one-to-one to the
    swatches at least total ΔE2000. An ambiguous polygon takes its cluster's swatch only
    when that swatch is among its candidates and within ``limit``, every other candidate
    class is held by another cluster within ``limit``, the swatch is its nearest among
    those not held by other clusters, and the match is strict (forbidding it costs more).
    Anything less leaves the polygon unclassified."""
    labels, costs = _colour_clusters(fills_rgb, distances, config.class_ambiguous_delta_e / 2)
    total, matched = _assignment_cost(costs, limit)
    held = {int(s): k for k, s in enumerate(matched) if s >= 0}
    out: dict[int, int] = {}
    margins: dict[int, bool] = {}
    for i in ambiguous:
        k, s = int(labels[i]), int(matched[labels[i]])
        candidates = _colour_candidates(entries, distances[i], config)
        keys = {_class_key(entries[j]) for j in candidates}
        if s < 0 or _class_key(entries[s]) not in keys or distances[i, s] > limit:
            continue
        others = keys - {_class_key(entries[s])}
        if not all(any(_class_key(entries[j]) == key and c != k for j, c in held.items())
                   for key in others):
            continue  # a candidate no other colour on the page claims: still a guess
        free = [j for j in range(len(entries)) if held.get(j, k) == k]
        if min(distances[i, j] for j in free) < distances[i, s]:
            continue
        if k not in margins:
            forbidden = costs.copy()
            forbidden[k, s] = np.inf
            margins[k] = _assignment_cost(forbidden, limit)[0] > total + 1e-9
        if margins[k]:
            out[i] = s
    return out


def _class_key(entry: LegendEntry) -> tuple:
    """What makes two swatches the same class: code and label; colour-only swatches (no
    text at all) are told apart by their colour."""
    if entry.code is None and entry.label is None:
        return (None, None, tuple(entry.rgb))
    return (entry.code, entry.label)


def _properties(entry: LegendEntry, distance: float, source: str) -> dict[str, Any]:
    return {"class_code": entry.code, "class_label": entry.label,
            "class_rgb": [int(c) for c in entry.rgb], "class_source": source,
            "class_distance": round(float(distance), 2) if np.isfinite(distance) else None}


def rgb_hex(rgb: Sequence[int] | None) -> str | None:
    """``[r, g, b]`` 0..255 -> ``"#rrggbb"`` (None stays None)."""
    return None if rgb is None else rgb_to_hex(tuple(int(c) for c in rgb))


def class_key(properties: dict[str, Any]) -> tuple[str, str, str] | None:
    """Category key of a classified feature or annotation (its class properties): (code,
    label, "") or, for colour-only classes, ("", "", "#rrggbb"); None when unclassified."""
    code, label = properties.get("class_code"), properties.get("class_label")
    if code is None and label is None:
        colour = rgb_hex(properties.get("class_rgb"))
        return None if colour is None else ("", "", colour)
    return (code or "", label or "", "")


def build_categories(classified: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """COCO categories of a run from the class properties of every feature or annotation
    met (unclassified ones are skipped): id 1 ``zone`` (unclassified), then one category per
    (code, label) sorted by code then label, ids 2.. — the same list whatever order the
    items come in. Each category: ``id``, ``name`` ("code label", or the one known, or the
    colour), ``supercategory`` "zone", ``code``, ``label`` and ``color`` [r, g, b] (the
    class's most frequent swatch colour; ties to the smallest)."""
    colours: dict[tuple[str, str, str], Counter] = {}
    for properties in classified:
        key = class_key(properties)
        if key is not None:
            colours.setdefault(key, Counter())[tuple(properties.get("class_rgb") or ())] += 1
    categories = [dict(ZONE_CATEGORY)]
    for category_id, key in enumerate(sorted(colours), start=2):
        code, label, colour_only = key
        counts = colours[key]
        rgb = min(counts, key=lambda c: (-counts[c], c))
        name = colour_only or " ".join(part for part in (code, label) if part)
        categories.append({"id": category_id, "name": name, "supercategory": "zone",
                           "code": code or None, "label": label or None,
                           "color": list(rgb) if rgb else None})
    return categories


def category_ids(categories: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    """Category key -> id for categories made by :func:`build_categories` (``zone`` left
    out: unclassified features get id 1)."""
    out = {}
    for category in categories:
        if category["id"] == ZONE_CATEGORY["id"]:
            continue
        key = class_key({"class_code": category.get("code"),
                         "class_label": category.get("label"),
                         "class_rgb": category.get("color")})
        if key is not None:
            out[key] = int(category["id"])
    return out

