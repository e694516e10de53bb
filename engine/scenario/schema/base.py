"""Shared building blocks of the scenario schema: the frozen base model and constrained types.

Every number is finite (`.inf` and `.nan` are refused) and none is a boolean (`true` is not 1.0).
The generic types carry an upper bound far beyond any real company (MAX_NUMBER), so sums over
months, segments and replications stay finite; fields whose size drives memory or run time
(leads, people, customers, replications) use tighter bounds declared here once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

MAX_NUMBER = 1e12
"""Largest value of any generic number field (money in currency, hours, factors)."""
MAX_COUNT = 1_000_000_000
"""Largest value of any generic whole-number field."""
MAX_LEADS_PER_MONTH = 1_000_000
"""Largest lead volume of one demand row (leads per month): the simulation follows every lead."""
MAX_PEOPLE = 100_000
"""Largest headcount of one role (people)."""
MAX_CUSTOMERS = 100_000_000
"""Largest customer base of one support tier (customers)."""

def _not_bool(value: Any) -> Any:
    """YAML reads `true` as a bool, which pydantic would take as 1: refuse it for numbers."""
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
"""A finite real number that was not written as true/false; bounds go in the field."""
Whole = Annotated[int, BeforeValidator(_not_bool)]
"""A whole number that was not written as true/false; bounds go in the field."""
Share = Annotated[float, BeforeValidator(_not_bool), Field(ge=0.0, le=1.0)]
"""A fraction in [0, 1] (conversion rate, shrinkage, selling-time share, ...)."""
NonNegFloat = Annotated[float, BeforeValidator(_not_bool), Field(ge=0.0, le=MAX_NUMBER)]
PosFloat = Annotated[float, BeforeValidator(_not_bool), Field(gt=0.0, le=MAX_NUMBER)]
NonNegInt = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=MAX_COUNT)]
PosInt = Annotated[int, BeforeValidator(_not_bool), Field(gt=0, le=MAX_COUNT)]
Money = Annotated[float, BeforeValidator(_not_bool), Field(ge=0.0, le=MAX_NUMBER)]
"""An amount of money in the scenario currency, 0 to 10^12."""
People = Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=MAX_PEOPLE)]
"""A number of people, 0 to 100,000."""

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check_month(value: str) -> str:
    if not _MONTH_RE.match(value):
        raise ValueError("not a calendar month (expected YYYY-MM, e.g. 2027-01)")
    return value


Month = Annotated[str, AfterValidator(_check_month)]
"""A calendar month written `YYYY-MM`."""


class Model(BaseModel):
    """Frozen base of every scenario section: unknown keys are rejected, fields are documented,
    numbers are finite and never booleans."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
        allow_inf_nan=False,
    )
