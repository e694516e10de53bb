"""The p-median heuristic's Cooper alternation, checked by hand on a line and as a fixed point
of the sampled path used at 10,000 units."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import solvers.territory.start_greedy as heuristic

LINE = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 100.0, 101.0, 102.0, 103.0, 104.0])


def _line_dist() -> np.ndarray:
    return np.abs(LINE[:, None] - LINE[None, :])


def test_alternation_moves_end_centres_to_the_medians() -> None:
    """Centres at units 0 and 5 (the ends): units 0-4 and 5-9 are their clusters, whose
    medians are units 2 and 7 (cost 6 + 6 = 12, from 10 + 10 = 20)."""
    dist = _line_dist()
    centres = heuristic.alternate(dist, np.ones(10), np.array([0, 5]))
    assert centres.tolist() == [2, 7]
    assert float(dist[:, centres].min(axis=1).sum()) == pytest.approx(12.0)


def test_alternation_keeps_to_the_candidates() -> None:
    """With only units 0, 1, 5, 6 allowed as centres the medians are 1 (cost 7) and 6 (7)."""
    centres = heuristic.alternate(_line_dist(), np.ones(10), np.array([0, 5]), candidates=np.array([0, 1, 5, 6]))
    assert centres.tolist() == [1, 6]


def test_sampled_path_ends_at_a_fixed_point_of_the_alternation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The large-instance path (candidates sampled, forced here on 300 units) ends with every
    centre the weighted 1-median of the units nearest to it, and reports that plan's cost."""
    monkeypatch.setattr(heuristic, "GREEDY_WORK", 10_000)
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, size=(300, 2))
    weight = rng.uniform(1, 5, size=300)
    dist = cdist(xy, xy)
    sol = heuristic.solve_heuristic(dist, weight, 6)
    nearest = dist[:, sol.centres].argmin(axis=1)
    for k, c in enumerate(sol.centres):
        members = nearest == k
        assert c == np.argmin(weight[members] @ dist[members])
    assert sol.cost == pytest.approx(float(weight @ dist[:, sol.centres].min(axis=1)))
