"""Values that `make mutation` showed no test checked, each against an outside reference (hand
arithmetic or a closed form). Each test names the mutant it kills; docs/development-mutation.md
has the run they came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_fixtures import MMC, write

from engine.plan.supply import capacity_hours_per_person
from engine.scenario.load import load_scenario
from solvers.erlang import erlang_b, erlang_c


def test_sales_capacity_is_its_selling_share_even_with_a_support_team(tmp_path: Path) -> None:
    """Kills engine.plan.supply.x_capacity_hours_per_person__mutmut_2 (`and` -> `or`: with a
    support section every role got the support team's on-phone hours). By hand: a rep with 160 h
    a month and a 75 % selling share sells 120 h; an agent with 160 h and 30 % shrinkage is on
    the phone 112 h."""
    text = (MMC.replace("headcount_start: 1, attrition_per_year: 0,",
                        "headcount_start: 1, attrition_per_year: 0, hours_per_month: 160, selling_share: 0.75,")
               .replace("headcount_start: 5, attrition_per_year: 0,",
                        "headcount_start: 5, attrition_per_year: 0, hours_per_month: 160,")
               .replace("shrinkage: 0\n", "shrinkage: 0.3\n"))
    s = load_scenario(write(tmp_path, "s.yaml", text)).scenario
    roles = {role.name: role for role in s.roles}
    assert capacity_hours_per_person(s, roles["Rep"]) == pytest.approx(120.0)
    assert capacity_hours_per_person(s, roles["Agent"]) == pytest.approx(112.0)


def test_erlang_b_and_c_with_no_load_never_block_or_wait() -> None:
    """Kills solvers.erlang.x_erlang_b__mutmut_5 (the recursion started at n = 0, which divides
    0 by 0 for a month without tickets). Closed form: with no offered load nobody is blocked and
    nobody waits, B = C = 0."""
    assert erlang_b(5, 0.0) == 0.0
    assert erlang_c(5, 0.0, 360.0) == 0.0
    # and a hand-computed case: B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2, abs=1e-12)
