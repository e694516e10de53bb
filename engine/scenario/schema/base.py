"""Shared building blocks of the scenario schema: the frozen base model and constrained types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0.0, le=1.0)]
"""A fraction in [0, 1] (conversion rate, shrinkage, selling-time share, ...)."""
NonNegFloat = Annotated[float, Field(ge=0.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]

_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check_month(value: str) -> str:
    if not _MONTH_RE.match(value):
        raise ValueError("not a calendar month (expected YYYY-MM, e.g. 2027-01)")
    return value


Month = Annotated[str, AfterValidator(_check_month)]
"""A calendar month written `YYYY-MM`."""


class Model(BaseModel):
    """Frozen base of every scenario section: unknown keys are rejected, fields are documented."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )
