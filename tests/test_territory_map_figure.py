"""The territory map figure (no browser): one feature per unit, colours by territory, moved
units outlined, alternatives as extra geo subplots, and no base-map download."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from reports import plots
from reports.geo import UnitShapes, display_geometry


def _shapes(ids: list[str]) -> UnitShapes:
    feats = [{"type": "Feature", "id": u, "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[k, 0], [k + 1, 0], [k + 1, 1], [k, 1], [k, 0]]]}}
             for k, u in enumerate(ids)]
    return UnitShapes({"type": "FeatureCollection", "features": feats},
                      pd.DataFrame({"id": ids, "lon": [k + 0.5 for k in range(len(ids))], "lat": [0.5] * len(ids)}))


def test_choropleth_colours_outlines_and_alternatives() -> None:
    ids = ["a", "b", "c", "d"]
    plan = pd.DataFrame({"unit_id": ids, "territory": ["North", "North", "South", "South"],
                         "center_unit_id": ["a", "a", "d", "d"], "workload": [1.0, 2, 3, 4],
                         "potential": [10.0, 20, 30, 40]})
    alt = plan.assign(territory=["North", "South", "South", "South"], center_unit_id=["a", "d", "d", "d"])
    units = pd.DataFrame({"id": ids, "current_territory": ["North", "South", "South", ""]})
    fig = plots.territory_choropleth(SimpleNamespace(territories=plan), _shapes(ids), units,
                                     [("alternative 1", alt)])
    maps = [t for t in fig["data"] if t["type"] == "choropleth"]
    main = maps[0]
    assert main["locations"] == ids and main["geo"] == "geo"
    assert main["z"][0] == main["z"][1] != main["z"][2] == main["z"][3]
    assert "territory North (centre a)" in main["text"][1] and "workload 3.0" in main["text"][1]
    moved = next(t for t in maps if t["name"] == "changes territory")
    assert moved["locations"] == ["b"]  # b: South -> North; d has no current territory
    assert any(t["geo"] == "geo2" for t in maps) and "geo2" in fig["layout"]
    assert all(t.get("locationmode") == "geojson-id" for t in fig["data"])
    assert "world_110m" in plots.GEO_OFFLINE_JS


def test_no_boundaries_no_choropleth() -> None:
    plan = pd.DataFrame({"unit_id": ["a"], "territory": ["T1"], "center_unit_id": ["a"], "workload": [1.0],
                         "potential": [0.0]})
    assert plots.territory_choropleth(SimpleNamespace(territories=plan), None, None) is None


def test_display_geometry_keeps_neighbours_sharing_their_border() -> None:
    """Two 10 x 10 squares whose shared border zigzags 0.0001 to either side 200 times: simplified
    for display (tolerance 0.01 of a 20-wide map) the zigzag goes, the two shapes neither overlap
    nor leave a gap (their areas add up to the area of their union, 200), and they still share a
    border 10 long."""
    ys = np.linspace(0, 10, 201)
    zig = [(10 + (1e-4 if k % 2 else -1e-4), y) for k, y in enumerate(ys)]
    west = Polygon([(0, 0), *zig, (0, 10)])
    east = Polygon([(20, 0), (20, 10), *zig[::-1]])
    shapes = display_geometry(gpd.GeoSeries([west, east]))
    assert sum(len(g.exterior.coords) for g in shapes) < 30
    assert shapes.area.sum() == pytest.approx(shapes.union_all().area, abs=1e-9)
    assert shapes.union_all().area == pytest.approx(200.0, abs=0.01)
    assert shapes.iloc[0].intersection(shapes.iloc[1]).length == pytest.approx(10.0, abs=0.01)


def test_map_frame_fills_the_chart_at_the_shapes_mercator_aspect() -> None:
    """With the shapes' bounds known, each geo subplot's frame is those bounds plus 2 % a side
    (no `fitbounds`, which keeps the world's frame and draws a region small inside it), and the
    main map's height is its Mercator aspect at 1,000 px wide: a 10 x 10 degree box from the
    equator is ln(tan(50 deg)) / radians(10) = 1.00512 high per unit width; a 40 x 5 degree strip
    is clamped to the 320 px floor."""
    ids = ["a", "b"]
    plan = pd.DataFrame({"unit_id": ids, "territory": ["N", "S"], "center_unit_id": ["a", "b"],
                         "workload": [1.0, 2.0], "potential": [1.0, 2.0]})
    square = UnitShapes(_shapes(ids).geojson, _shapes(ids).points, (0.0, 0.0, 10.0, 10.0))
    assert square.aspect() == pytest.approx(np.log(np.tan(np.radians(50.0))) / np.radians(10.0), rel=1e-12)
    assert square.aspect() == pytest.approx(1.00512, abs=1e-5)
    fig = plots.territory_choropleth(SimpleNamespace(territories=plan), square, None,
                                     [("alternative 1: cost +1.0%, 50% of units differ", plan)])
    geo = fig["layout"]["geo"]
    assert "fitbounds" not in geo
    assert geo["lonaxis"]["range"] == [-0.2, 10.2] and geo["lataxis"]["range"] == [-0.2, 10.2]
    main_h, row_h = plots._map_heights(square, 1)
    assert main_h == 760  # 1,000 px x 1.00512 x 1.04 = 1,045, above the 760 px ceiling
    assert fig["layout"]["height"] == main_h + row_h + 60
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["alternative 1: cost +1.0%, 50% of units differ"]
    strip = UnitShapes(square.geojson, square.points, (0.0, 0.0, 40.0, 5.0))
    assert plots._map_heights(strip, 0) == (320, 0)
    bare = UnitShapes(square.geojson, square.points)
    assert plots.territory_choropleth(SimpleNamespace(territories=plan), bare, None)["layout"]["geo"]["fitbounds"] \
        == "locations"


def test_alternative_titles_state_cost_and_difference() -> None:
    from reports.content import _alternative_title

    summary = {"objective": 1000.0, "alternatives": [{"objective": 1015.0, "differs_from_best": 0.224}]}
    assert _alternative_title(1, summary) == "alternative 1: cost +1.5%, 22% of units differ"
    assert _alternative_title(2, summary) == "alternative 2"


def test_neighbouring_territories_get_different_colours() -> None:
    """Six unit squares in a row, territories A A B C C D: every pair of touching territories
    (A-B, B-C, C-D) gets two different colours on the map, whatever the palette order would
    have given; the alternative's own name E gets a colour after the plan's."""
    from reports.geo import territory_colours

    ids = list("uvwxyz")
    base = _shapes(ids)
    geometry = gpd.GeoSeries([Polygon([(k, 0), (k + 1, 0), (k + 1, 1), (k, 1)]) for k in range(6)],
                             index=pd.Index(ids, name="id"), crs=4326)
    shapes = UnitShapes(base.geojson, base.points, (0.0, 0.0, 6.0, 1.0), geometry)
    plan = pd.DataFrame({"unit_id": ids, "territory": list("AABCCD"), "center_unit_id": list("uuwxxz"),
                         "workload": [1.0] * 6, "potential": [1.0] * 6})
    colour = territory_colours(shapes, plan)
    assert set(colour) == set("ABCD")
    for a, b in (("A", "B"), ("B", "C"), ("C", "D")):
        assert colour[a] != colour[b], colour
    alt = plan.assign(territory=list("AABCCE"))
    palette = plots._territory_palette(shapes, plan, list("ABCDE"))
    assert palette[:4] == [plots.PALETTE[colour[n]] for n in "ABCD"]
    assert palette[4] == plots.PALETTE[max(colour.values()) + 1]
    fig = plots.territory_choropleth(SimpleNamespace(territories=plan), shapes, None, [("alternative 1", alt)])
    scale = fig["data"][0]["colorscale"]
    assert [scale[2 * i][1] for i in range(5)] == palette
