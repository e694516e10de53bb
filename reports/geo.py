"""Unit boundaries for the report's territory map: a compact GeoJSON in longitude/latitude.

The scenario's `territory.boundaries` file is read with geopandas, brought to EPSG:4326 (a file
without a CRS is used as it stands when its coordinates are longitude/latitude, else no map is
drawn), simplified to half a pixel of the map (as a coverage when the shapes form one, so
neighbours keep sharing their borders) and rounded, so a 3,000-unit map stays about a megabyte
inside report.html and draws without a tile server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely

log = logging.getLogger(__name__)

DECIMALS = 4
"""Longitude/latitude decimals kept (about 10 m)."""
SIMPLIFY_SHARE = 5e-4
"""Simplification tolerance as a share of the map's larger extent: half a pixel of a map drawn
1,000 pixels wide (the report's map is about that), so the simplification cannot be seen."""


@dataclass(frozen=True)
class UnitShapes:
    """`geojson`: FeatureCollection with each feature's `id` the unit id; `points`: id, lon, lat
    of a point inside each unit (for centre markers)."""

    geojson: dict
    points: pd.DataFrame
    bounds: tuple[float, float, float, float] | None = None
    """(lon_min, lat_min, lon_max, lat_max) of the shapes, degrees: the map's frame."""
    geometry: gpd.GeoSeries | None = None
    """The display shapes indexed by unit id (EPSG:4326), for colouring territories apart."""

    def aspect(self) -> float | None:
        """Height over width of the shapes' frame on a Mercator map (None without bounds)."""
        if self.bounds is None:
            return None
        lon0, lat0, lon1, lat1 = self.bounds
        merc = np.log(np.tan(np.pi / 4 + np.radians(np.clip([lat0, lat1], -85.0, 85.0)) / 2))
        width = np.radians(lon1 - lon0)
        return float((merc[1] - merc[0]) / width) if width > 0 else None


def display_geometry(geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    """Shapes simplified for display to SIMPLIFY_SHARE of the map's extent. Shapes that form a
    coverage (no overlaps: counties, postcodes) are simplified together (`coverage_simplify`):
    each shared border once, so neighbours still meet without gaps or slivers; otherwise each
    shape on its own, keeping its topology."""
    x0, y0, x1, y1 = geometry.total_bounds
    tolerance = SIMPLIFY_SHARE * max(x1 - x0, y1 - y0)
    shapes = geometry.values
    if geometry.notna().all() and bool(shapely.coverage_is_valid(shapes)):
        return gpd.GeoSeries(shapely.coverage_simplify(shapes, tolerance), index=geometry.index, crs=geometry.crs)
    return geometry.simplify(tolerance, preserve_topology=True)


def read_unit_shapes(path: Path, id_column: str) -> UnitShapes | None:
    """The boundary file as map data, or None (with a log line) when it cannot be drawn."""
    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - a map that cannot be read is left out, not fatal
        log.warning("territory map drawn without boundaries: cannot read %s (%s)", path, exc)
        return None
    if id_column not in frame.columns:
        return None
    if frame.crs is None:
        x0, y0, x1, y1 = frame.total_bounds
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            log.warning("territory map drawn without boundaries: %s has no CRS", path)
            return None
    else:
        frame = frame.to_crs(4326)
    geometry = display_geometry(frame.geometry).set_precision(10.0 ** -DECIMALS)
    ids = frame[id_column].astype(str).str.strip().to_numpy()
    features = [{"type": "Feature", "id": str(i), "properties": {}, "geometry": g.__geo_interface__}
                for i, g in zip(ids, geometry, strict=True) if g is not None and not g.is_empty]
    inside = frame.geometry.representative_point()
    points = pd.DataFrame({"id": ids, "lon": np.round(inside.x.to_numpy(), DECIMALS),
                           "lat": np.round(inside.y.to_numpy(), DECIMALS)})
    lon0, lat0, lon1, lat1 = (float(v) for v in frame.total_bounds)
    by_id = gpd.GeoSeries(geometry.values, index=pd.Index(ids, name="id"), crs=4326)
    return UnitShapes({"type": "FeatureCollection", "features": features}, points, (lon0, lat0, lon1, lat1),
                      by_id[by_id.notna() & ~by_id.is_empty])


def territory_colours(shapes: UnitShapes, plan: pd.DataFrame) -> dict[str, int] | None:
    """Colour index of each territory of `plan` (unit_id, territory) such that territories sharing a
    border or a corner get different colours: the territories' shapes (units dissolved) coloured by
    mapclassify's greedy map colouring (queen contiguity, balanced colour counts, at least four).
    None without shapes or when a plan's unit has none."""
    if shapes.geometry is None:
        return None
    ids = plan["unit_id"].astype(str)
    if not ids.isin(shapes.geometry.index).all():
        return None
    units = gpd.GeoDataFrame({"territory": plan["territory"].astype(str).to_numpy()},
                             geometry=shapes.geometry.loc[ids].to_numpy(), crs=shapes.geometry.crs)
    territories = units.dissolve("territory").sort_index()
    if len(territories) < 2:
        return dict.fromkeys(territories.index, 0)
    colours = mapclassify.greedy(territories, strategy="balanced", min_colors=4, sw="queen")
    return {str(name): int(c) for name, c in zip(territories.index, colours, strict=True)}
