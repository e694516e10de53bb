"""Generate `enterprise_units.csv`: ~500 named accounts for the enterprise example scenario.

Accounts cluster around business cities of three regions laid out on one plane (x, y in km; the
regions sit far apart, so no territory spans an ocean). Potential (EUR of annual opportunity) is
lognormal and skewed: a few large accounts carry much of it. Workload (hours per month of AE
time) grows with the square root of potential. Current territories come from 12 historical rep
territories per region, cut as equal-count pie slices around the region's centre (balanced on
account count, not on workload, and not compact), with 8 % of accounts in some other territory
of their region: the untidy history a realignment fixes.

Run: python scenarios/data/make_enterprise_units.py  (seeded: the same file every time)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20270101
N_ACCOUNTS = 500
# city: (region, x km, y km, relative size)
CITIES = {
    "New York": ("NA", 2900, 1500, 10), "Chicago": ("NA", 2000, 1600, 6), "Toronto": ("NA", 2500, 1800, 4),
    "Atlanta": ("NA", 2300, 800, 4), "Dallas": ("NA", 1500, 700, 5), "Denver": ("NA", 900, 1300, 2),
    "San Francisco": ("NA", 0, 1200, 8), "Seattle": ("NA", 150, 2100, 4), "Boston": ("NA", 3200, 1700, 4),
    "London": ("EMEA", 7000, 2300, 10), "Paris": ("EMEA", 7300, 1900, 7), "Frankfurt": ("EMEA", 7800, 2000, 6),
    "Amsterdam": ("EMEA", 7500, 2400, 4), "Stockholm": ("EMEA", 8200, 3100, 3), "Madrid": ("EMEA", 6900, 1200, 4),
    "Milan": ("EMEA", 7900, 1500, 4), "Dubai": ("EMEA", 10400, 300, 3), "Munich": ("EMEA", 8000, 1800, 4),
    "Singapore": ("APAC", 14500, -1500, 5), "Sydney": ("APAC", 16500, -4500, 3), "Tokyo": ("APAC", 17500, 1000, 5),
    "Bangalore": ("APAC", 12500, -500, 2),
}
TERRITORIES_PER_REGION = {"NA": 5, "EMEA": 5, "APAC": 2}
MISPLACED_SHARE = 0.08


def make_units(seed: int = SEED, n: int = N_ACCOUNTS) -> pd.DataFrame:
    """The accounts table: id, x, y, workload, potential, current_territory."""
    rng = np.random.default_rng(seed)
    names = list(CITIES)
    size = np.array([CITIES[c][3] for c in names], dtype=float)
    city = rng.choice(len(names), size=n, p=size / size.sum())
    centre = np.array([[CITIES[names[c]][1], CITIES[names[c]][2]] for c in city], dtype=float)
    spread = rng.gamma(2.0, 25.0, size=n)[:, None]  # km: most accounts within ~100 km of the city
    xy = centre + rng.normal(size=(n, 2)) * spread
    potential = np.round(rng.lognormal(mean=np.log(180_000), sigma=1.1, size=n), -3)
    workload = np.round(3.0 + 5.0 * np.sqrt(potential / np.median(potential)), 1)
    region = np.array([CITIES[names[c]][0] for c in city])
    current = np.empty(n, dtype=object)
    for reg, k in TERRITORIES_PER_REGION.items():
        rows = np.flatnonzero(region == reg)
        rel = xy[rows] - xy[rows].mean(axis=0)
        order = rows[np.argsort(np.arctan2(rel[:, 1], rel[:, 0]))]
        slices = np.array_split(order, k)
        for t, members in enumerate(slices):
            current[members] = f"{reg}-{t + 1}"
        moved = rows[rng.random(len(rows)) < MISPLACED_SHARE]
        current[moved] = [f"{reg}-{t}" for t in rng.integers(1, k + 1, size=len(moved))]
    return pd.DataFrame({
        "id": [f"ACC{k + 1:04d}" for k in range(n)],
        "x": np.round(xy[:, 0], 1), "y": np.round(xy[:, 1], 1),
        "workload": workload, "potential": potential,
        "current_territory": current,
    })


if __name__ == "__main__":
    out = Path(__file__).with_name("enterprise_units.csv")
    make_units().to_csv(out, index=False)
    print(f"wrote {out}")
