"""A calibrated scenario dict back into a `LoadedScenario`: schema and meaning checks again."""

from __future__ import annotations

from pydantic import ValidationError

from engine.data.stage_roles import missing_role_problems
from engine.errors import InputError
from engine.scenario.checks import check_scenario
from engine.scenario.load import LoadedScenario, problems_from_validation
from engine.scenario.model import Scenario


def revalidated(loaded: LoadedScenario, data: dict, active_users: dict[str, int] | None = None) -> LoadedScenario:
    """`data` (the resolved scenario with calibrated sections) validated as a scenario at
    `loaded`'s path; InputError with every problem when the calibration does not fit it: first a
    stage role the scenario does not define (with the `roles:` entry to add; `active_users`: people
    per lower-case role name in the export's users sheet), then schema and meaning checks."""
    missing = missing_role_problems(loaded, data, active_users)
    if missing:
        raise InputError(missing)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, data, {}, str(loaded.path))) from None
    new = LoadedScenario(scenario, loaded.path, data, loaded.overrides)
    problems = check_scenario(new, {})
    if problems:
        raise InputError(problems)
    return new
