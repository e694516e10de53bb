"""Synthetic boundary sets for territory design on maps (benchmarks/territory_geo.py).

No public county file is shipped in the repository, so the benchmark draws its own: seeded
Voronoi cells (shapely) clipped to a region in longitude/latitude, with an uneven workload
(population-like: lognormal, a few cells ten times the median, like counties holding a city)
and a potential proportional to workload with noise. Cell counts match the issue's instances:
250 (one state), 600 (seven states), 3,100 (the contiguous United States).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

REGIONS = {250: (-84.0, 33.8, -75.5, 36.6), 600: (-95.0, 30.0, -80.0, 40.0),
           3100: (-124.0, 25.0, -67.0, 49.0)}
"""Bounding box (lon_min, lat_min, lon_max, lat_max) of each size's region."""


def voronoi_units(n: int, seed: int, region: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """n Voronoi cells in a lon/lat region (EPSG:4326) with columns id, workload, potential."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = region or REGIONS.get(n, (-84.0, 33.8, -75.5, 36.6))
    pts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    frame = box(x0, y0, x1, y1)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame)
    by_point = {}
    for cell in shapely.get_parts(cells):
        inside = shapely.contains_xy(cell, pts[:, 0], pts[:, 1])
        by_point[int(np.flatnonzero(inside)[0])] = shapely.intersection(cell, frame)
    geoms = [by_point[i] for i in range(n)]
    population = rng.lognormal(mean=10.5, sigma=1.0, size=n)
    workload = np.round(population / 1000.0, 3)
    potential = np.round(workload * rng.uniform(800, 1200, n), 0)
    return gpd.GeoDataFrame({"id": [f"U{i:05d}" for i in range(n)], "workload": workload,
                             "potential": potential}, geometry=geoms, crs=4326)


def home_bases(units: gpd.GeoDataFrame, p: int, seed: int) -> list[str]:
    """p reps' home bases: unit ids where the work is, spread out. Workload-weighted k-means on
    the cells' representative points (k-means++ seeding from `seed`, 20 Lloyd steps), each centre
    snapped to its nearest cell; reps live near the middle of the work they would cover."""
    rng = np.random.default_rng(seed)
    pts = units.geometry.representative_point()
    xy = np.column_stack([pts.x, pts.y])
    w = units["workload"].to_numpy(float)
    chosen = [int(rng.choice(len(xy), p=w / w.sum()))]
    for _ in range(p - 1):
        d2 = ((xy[:, None, :] - xy[chosen][None, :, :]) ** 2).sum(-1).min(axis=1)
        chosen.append(int(rng.choice(len(xy), p=w * d2 / (w * d2).sum())))
    centres = xy[chosen]
    for _ in range(20):
        label = ((xy[:, None, :] - centres[None]) ** 2).sum(-1).argmin(axis=1)
        centres = np.array([np.average(xy[label == k], axis=0, weights=w[label == k]) for k in range(p)])
    homes = [int(((xy - c) ** 2).sum(axis=1).argmin()) for c in centres]
    if len(set(homes)) < p:
        raise ValueError(f"two of the {p} home bases snapped to the same cell; try another seed")
    return [str(units["id"].iloc[h]) for h in homes]


def write_instance(folder: Path, n: int, p: int, seed: int, *, balance: float = 0.1,
                   time_limit_s: float = 60.0, mip_gap: float = 0.01, homes: bool = False) -> Path:
    """Boundaries (GeoPackage), units.csv and a territory-only scenario in `folder`; returns the
    scenario path. `homes` fixes the centres at reps' home bases (`home_bases`, seed + 1)."""
    folder.mkdir(parents=True, exist_ok=True)
    units = voronoi_units(n, seed)
    units.to_file(folder / "boundaries.gpkg", driver="GPKG", engine="pyogrio")
    units.drop(columns="geometry").to_csv(folder / "units.csv", index=False)
    scenario = folder / "scenario.yaml"
    scenario.write_text(
        f"name: voronoi-{n}-{p}\n"
        "territory:\n"
        "  units: units.csv\n"
        "  boundaries: boundaries.gpkg\n"
        f"  territories: {p}\n"
        f"  balance: {balance}\n"
        "  contiguity: true\n"
        f"  time_limit_s: {time_limit_s}\n"
        f"  mip_gap: {mip_gap}\n"
        + ("  centres:\n" + "".join(f"    R{k + 1}: {u}\n" for k, u in enumerate(home_bases(units, p, seed + 1)))
           if homes else ""))
    return scenario
