"""What binds, and what one more unit is worth: hand-solved cases where the value is known."""

from __future__ import annotations

import numpy as np
import pytest
from test_hiring import problem

from reports.content import binding_sentence
from solvers.hiring import solve_hiring
from solvers.hiring_binds import find_bindings, value_bindings

PERSON_VALUE = 100 * 50.0 - 1000.0
"""A person covers 100 h worth 50 each and costs 1,000: 4,000 a month while demand is short."""


def _valued(p, step: float = 1.0):
    res = solve_hiring(p)
    found = find_bindings(p, res.plan[res.plan["case"] == "base"], step)
    return found, value_bindings(p, found)


def test_budget_binds_and_ten_thousand_more_buys_five_people() -> None:
    """Budget 12,000: 10 R0 (1,000) + 1 R1 (2,000) a month, R1 900 h short. 10,000 more a month
    buys 5 more R1 people: 5 x (100 h x 50 - 2,000) x 3 months = 45,000."""
    p = problem(np.full((1, 2, 3), 1000.0), roles=2, cost_per_month=np.array([1000.0, 2000.0]),
                budget_per_month=np.full(3, 12_000.0), objective="margin")
    found, (budget,) = _valued(p, step=10_000.0)
    assert [(b.kind, b.months) for b in found] == [("budget", ("2027-01", "2027-02", "2027-03"))]
    assert budget.gain == pytest.approx(45_000.0, rel=1e-6)
    low, high = budget.gain_interval
    assert low <= 45_000.0 + 1e-6 and high >= 45_000.0 - 1e-6


def test_hiring_cap_binds_in_the_months_it_is_reached() -> None:
    """1,000 h a month (10 people) from nobody, at most 4 starts a month: 4, 4, 2. One more start
    in months 1-2 gives 5, 5: one more person in month 1 and two in month 2 = 3 x 4,000."""
    p = problem(np.full(3, 1000.0), max_hires_per_month=np.array([4]), objective="margin")
    found, (cap,) = _valued(p)
    assert (cap.kind, cap.role, cap.months) == ("hiring_cap", "R0", ("2027-01", "2027-02"))
    assert cap.gain == pytest.approx(3 * PERSON_VALUE, rel=1e-6)


def test_headcount_cap_and_nothing_else() -> None:
    """At most 7 of the 10 people needed: one more allowed = 3 months x 4,000."""
    p = problem(np.full(3, 1000.0), max_headcount=np.array([7.0]), objective="margin")
    found, valued = _valued(p)
    assert [(b.kind, b.role, len(b.months)) for b in found] == [("headcount_cap", "R0", 3)]
    (head,) = valued
    assert head.gain == pytest.approx(3 * PERSON_VALUE, rel=1e-6)
    assert find_bindings(problem(np.full(3, 500.0), objective="margin"),
                         solve_hiring(problem(np.full(3, 500.0), objective="margin")).plan, 1.0) == []


def test_the_report_says_it_in_one_sentence() -> None:
    p = problem(np.full((1, 2, 3), 1000.0), roles=2, cost_per_month=np.array([1000.0, 2000.0]),
                budget_per_month=np.full(3, 12_000.0), objective="margin")
    _, (budget,) = _valued(p, step=10_000.0)
    text = binding_sentence(budget.as_dict(), "EUR", "margin")
    assert text.startswith("The budget binds in 3 months (2027-01, 2027-02, 2027-03): EUR 10,000 more a "
                           "month adds EUR 45,000 of the optimiser's objective")


def test_a_fixed_roles_caps_are_not_decisions() -> None:
    """R0's starts are fixed at its cap (4, 4, 2): not a binding limit; R1 (free) at its cap is."""
    p = problem(np.full((1, 2, 3), 1000.0), roles=2, max_hires_per_month=np.array([4, 4]), objective="margin",
                fixed_hires=np.array([[4.0, 4.0, 2.0], [np.nan] * 3]))
    found, (cap,) = _valued(p)
    assert [(b.kind, b.role) for b in found] == [("hiring_cap", "R1")]
    assert cap.gain == pytest.approx(3 * PERSON_VALUE, rel=1e-6)
