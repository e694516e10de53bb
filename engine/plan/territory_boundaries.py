"""Boundary files (GeoJSON, Shapefile, GeoPackage) -> centroids, areas and the border graph.

Shapes are read with geopandas (pyogrio); a file in longitude/latitude is projected to its UTM
zone (`GeoDataFrame.estimate_utm_crs`) so centroids, areas and distances are in kilometres; a file
without a CRS is taken as planar, in its own coordinate unit. The border graph comes from libpysal
(`Rook`: units sharing an edge; `Queen`: also a corner).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from libpysal.weights import Queen, Rook
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import cdist

from engine.errors import InputError, Problem

SUFFIXES = (".geojson", ".json", ".shp", ".gpkg")
"""Boundary file types read (GeoJSON, Shapefile, GeoPackage)."""


@dataclass(frozen=True)
class Boundaries:
    """Unit shapes in file order: `ids` (str), centroids `x`, `y` and `area` (km and km² when the
    file has a CRS, else the file's own unit), `edges` (m, 2) row positions of units sharing a
    border (each pair once, lower position first), `shapes` (the geometries in longitude/latitude,
    or as given without a CRS) and `notes` (islands, multi-part units, links added)."""

    file: str
    ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: np.ndarray
    edges: np.ndarray
    shapes: gpd.GeoSeries
    notes: tuple[str, ...]
    attributes: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.ids)


def read_shapes(path: Path, id_column: str) -> gpd.GeoDataFrame:
    """The boundary file as a GeoDataFrame with unique, non-empty string ids in `id_column`."""
    file = str(path)
    if not path.exists():
        raise InputError.single(file, "", "file not found", "a GeoJSON, Shapefile or GeoPackage file")
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - pyogrio raises many types for unreadable files
        raise InputError.single(file, "", f"not a readable boundary file ({exc})",
                                "a GeoJSON, Shapefile or GeoPackage file") from exc
    if id_column not in frame.columns:
        cols = ", ".join(c for c in frame.columns if c != "geometry")
        raise InputError.single(file, id_column, "no such column", f"one of: {cols}")
    ids = frame[id_column].astype(str).str.strip()
    problems: list[Problem] = []
    for row in np.flatnonzero(((ids == "") | frame[id_column].isna()).to_numpy()):
        problems.append(Problem(file, None, f"{id_column}[{row}]", "missing id", "a unit id per shape"))
    for row in np.flatnonzero(ids.duplicated().to_numpy()):
        problems.append(Problem(file, None, f"{id_column}[{row}]", f"duplicate id {ids.iloc[row]!r}",
                                "one shape per unit (dissolve multi-part units first)"))
    bad = frame.geometry.isna() | frame.geometry.is_empty
    bad |= ~frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).fillna(False)
    for row in np.flatnonzero(bad.to_numpy()):
        problems.append(Problem(file, None, f"geometry[{ids.iloc[row]}]", "no polygon",
                                "a Polygon or MultiPolygon per unit"))
    if problems:
        raise InputError(problems)
    frame[id_column] = ids
    return frame


def _with_crs(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The frame with a CRS where one can be told: a file without one whose coordinates all lie
    within longitude/latitude ranges is taken as longitude/latitude (EPSG:4326), with a note."""
    if frame.crs is not None:
        return frame, []
    x0, y0, x1, y1 = frame.total_bounds
    if -180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90:
        return frame.set_crs(4326), ["the boundary file names no CRS; its coordinates are read as "
                                     "longitude/latitude (EPSG:4326)"]
    return frame, ["the boundary file names no CRS; coordinates are taken as planar, in the file's own unit"]


def _planar(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries, float]:
    """Geometries in a planar CRS and the factor to kilometres (1 without a CRS)."""
    if frame.crs is None:
        return frame.geometry, 1.0
    geo = frame.to_crs(frame.estimate_utm_crs()) if frame.crs.is_geographic else frame
    unit = geo.crs.axis_info[0].unit_conversion_factor if geo.crs.axis_info else 1.0
    return geo.geometry, unit / 1000.0


def border_edges(frame: gpd.GeoDataFrame, rule: str) -> np.ndarray:
    """(m, 2) positions of units sharing a border (rook: an edge; queen: a point too)."""
    builder = Queen if rule == "queen" else Rook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal warns about islands; we note them ourselves
        w = builder.from_dataframe(frame.reset_index(drop=True), use_index=False, silence_warnings=True)
    pairs = [(i, j) for i, nbrs in w.neighbors.items() for j in nbrs if i < j]
    return np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def components(n: int, edges: np.ndarray) -> np.ndarray:
    """Connected component label of every unit in the border graph."""
    g = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    return connected_components(g, directed=False)[1]


def link_components(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Join every part of the border graph to the rest by its closest centroid pair (islands
    served by ferry or bridge), smallest part first; returns the edges and one note per link."""
    xy = np.column_stack([x, y])
    added = []
    while True:
        comp = components(len(x), edges)
        labels, sizes = np.unique(comp, return_counts=True)
        if len(labels) == 1:
            return edges, added
        part = np.flatnonzero(comp == labels[np.argmin(sizes)])
        rest = np.flatnonzero(comp != comp[part[0]])
        d = cdist(xy[part], xy[rest])
        a, b = np.unravel_index(np.argmin(d), d.shape)
        pair = sorted((int(part[a]), int(rest[b])))
        edges = np.vstack([edges, [pair]])
        added.append(pair)


def load_boundaries(path: Path, id_column: str, rule: str = "rook", link_islands: bool = False) -> Boundaries:
    """Read a boundary file: centroids, areas, border graph and notes (see `Boundaries`)."""
    frame, crs_notes = _with_crs(read_shapes(path, id_column))
    planar, to_km = _planar(frame)
    centroids = planar.centroid
    x, y = centroids.x.to_numpy() * to_km, centroids.y.to_numpy() * to_km
    area = planar.area.to_numpy() * to_km * to_km
    edges = border_edges(frame, rule)
    ids = frame[id_column].to_numpy(dtype=object)
    notes = crs_notes + _notes(frame, ids, edges)
    if link_islands:
        edges, added = link_components(x, y, edges)
        notes += [f"border graph: linked {ids[a]} and {ids[b]} (closest centroids of separate parts)"
                  for a, b in added]
    shapes = frame.geometry if frame.crs is None else frame.geometry.to_crs(4326)
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return Boundaries(str(path), ids, x, y, area, edges, shapes.reset_index(drop=True), tuple(notes),
                      attributes.reset_index(drop=True))


def _notes(frame: gpd.GeoDataFrame, ids: np.ndarray, edges: np.ndarray) -> list[str]:
    """Plain sentences about islands (no border) and multi-part units."""
    notes = []
    degree = np.bincount(edges.ravel(), minlength=len(ids))
    islands = ids[degree == 0]
    if len(islands):
        notes.append(f"{len(islands)} unit(s) share no border with any other (islands): "
                     f"{_some(islands)}; with contiguity each is a territory of its own unless "
                     "linked (territory.link_islands or an adjacency file)")
    multi = ids[(frame.geometry.geom_type == "MultiPolygon").to_numpy()]
    if len(multi):
        notes.append(f"{len(multi)} unit(s) have several parts (e.g. coast and islands): {_some(multi)}; "
                     "the border graph treats each as one unit touching what any part touches")
    return notes


def _some(ids: np.ndarray, k: int = 5) -> str:
    shown = ", ".join(str(i) for i in ids[:k])
    return shown + (f" and {len(ids) - k} more" if len(ids) > k else "")


def component_problem(file: str, ids: np.ndarray, edges: np.ndarray, territories: int,
                      field: str) -> Problem | None:
    """The exit-2 problem when the border graph has more connected parts than territories
    (no contiguous plan can exist), naming the parts; None when it does not."""
    comp = components(len(ids), edges)
    labels, sizes = np.unique(comp, return_counts=True)
    if len(labels) <= territories:
        return None
    order = np.argsort(-sizes, kind="stable")
    parts = "; ".join(f"part {k + 1}: {sizes[o]} unit(s) ({_some(ids[comp == labels[o]], 3)})"
                      for k, o in enumerate(order[:6]))
    more = f"; and {len(labels) - 6} more" if len(labels) > 6 else ""
    return Problem(file, None, field,
                   f"the border graph has {len(labels)} separate parts but there are {territories} "
                   f"territories, so no plan can be contiguous: {parts}{more}",
                   "at most as many parts as territories (link islands with territory.link_islands, "
                   "add borders in an adjacency file, or raise territories)")


def unit_tables(path: Path, id_column: str, measures: list[str], rule: str = "rook",
                link_islands: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """units.csv (id, x, y in km, area_km2, then each measure) and adjacency.csv (from, to) for
    a boundary file; a measure is a column name, or `NAME=COLUMN` to rename it (e.g.
    `workload=POP`). Also the boundary notes."""
    geo = load_boundaries(path, id_column, rule, link_islands)
    units = pd.DataFrame({"id": geo.ids, "x": np.round(geo.x, 6), "y": np.round(geo.y, 6),
                          "area_km2": np.round(geo.area, 6)})
    problems = []
    for spec in measures:
        name, _, column = spec.partition("=") if "=" in spec else (spec, "", spec)
        name, column = name.strip(), column.strip()
        values = pd.to_numeric(geo.attributes[column], errors="coerce") if column in geo.attributes else None
        if values is None:
            cols = ", ".join(geo.attributes.columns)
            problems.append(Problem(geo.file, None, f"--measure {spec}", f"no column {column!r}", f"one of: {cols}"))
        elif values.isna().any():
            bad = geo.ids[values.isna().to_numpy()]
            problems.append(Problem(geo.file, None, f"{column}[{bad[0]}]", f"{len(bad)} non-numeric value(s)",
                                    "a number for every unit"))
        elif name in units.columns:
            problems.append(Problem(geo.file, None, f"--measure {spec}", f"{name!r} is already a column",
                                    "another name (NAME=COLUMN)"))
        else:
            units[name] = values.to_numpy()
    if problems:
        raise InputError(problems)
    adjacency = pd.DataFrame({"from": geo.ids[geo.edges[:, 0]], "to": geo.ids[geo.edges[:, 1]]})
    return units, adjacency, geo.notes
