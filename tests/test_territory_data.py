"""Territory data files: error lines (FILE:LINE: column: message), distance completion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from engine.errors import InputError
from engine.plan.territory import run_territory
from engine.plan.territory_files import complete_distances, load_pairs, load_units
from engine.scenario.schema.territory import TerritorySection


def test_units_problems_name_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "units.csv"
    f.write_text("id,x,y,workload\nA,0,0,1\nB,zero,0,1\nA,1,1,-2\n,2,2,1\n")
    with pytest.raises(InputError) as err:
        load_units(f, need_coords=True)
    lines = [p.format() for p in err.value.problems]
    assert f"{f}:3: x: bad value 'zero' (a number)" in lines
    assert f"{f}:4: id: duplicate id 'A' (unique unit ids)" in lines
    assert f"{f}:4: workload: bad value '-2' (a number >= 0.0)" in lines
    assert f"{f}:5: id: missing id (a unit id)" in lines


def test_units_need_coordinates_without_distances(tmp_path: Path) -> None:
    f = tmp_path / "units.csv"
    f.write_text("id,workload\nA,1\n")
    with pytest.raises(InputError) as err:
        load_units(f, need_coords=True)
    assert err.value.problems[0].line == 1
    assert "missing column" in err.value.problems[0].message


def test_distances_unknown_unit(tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("from,to,distance\nA,B,1\nA,Z,2\n")
    with pytest.raises(InputError) as err:
        load_pairs(f, np.array(["A", "B"], dtype=object), with_distance=True)
    assert err.value.problems[0].format() == f"{f}:3: to: unknown unit 'Z' (an id from the units file)"


def test_given_pairs_kept_as_given_and_missing_pairs_completed() -> None:
    """Triangle A-B 1, B-C 1, A-C 5 (a slow road, kept as given although A-B-C is 2); D only
    linked to C by 2: A-D completes to A-B-C-D = 4 (shortest path over given pairs), B-D = 3.
    A repeated pair takes its last value (B-C given 7 then 1)."""
    a = np.array([0, 1, 1, 0, 2])
    b = np.array([1, 2, 2, 2, 3])
    d = np.array([1.0, 7.0, 1.0, 5.0, 2.0])
    full = complete_distances(4, a, b, d, "d.csv")
    assert full[0, 2] == 5.0 and full[2, 0] == 5.0
    assert full[1, 2] == 1.0
    assert full[0, 3] == 4.0 and full[1, 3] == 3.0
    assert np.allclose(full, full.T) and np.all(np.diag(full) == 0)


def test_disconnected_distances_are_an_input_error() -> None:
    with pytest.raises(InputError, match="do not connect all units"):
        complete_distances(4, np.array([0, 2]), np.array([1, 3]), np.array([1.0, 1.0]), "d.csv")


def test_contiguity_needs_adjacency() -> None:
    with pytest.raises(ValidationError, match="adjacency"):
        TerritorySection(units="u.csv", territories=2, contiguity=True)


def test_lock_naming_no_territory_is_reported(tmp_path: Path) -> None:
    (tmp_path / "units.csv").write_text("id,x,y,current_territory\na,0,0,N\nb,1,0,S\n")
    section = TerritorySection(units="units.csv", territories=2, locks={"a": "West"})
    with pytest.raises(InputError) as err:
        run_territory(section, tmp_path)
    assert "territory.locks.a" in err.value.problems[0].format()
