"""The roles a calibrated funnel needs: a stage calibrated from an export is worked by a role
(`data.stage_roles`, the scenario's same-named stage, else SDR / AE), and a scenario without that
role gets one problem per missing role that says what `roles:` entry to add."""

from __future__ import annotations

from engine.errors import InputError, Problem
from engine.scenario.load import scenario_origins
from engine.scenario.loaded import LoadedScenario
from engine.scenario.origins import origin_of

EXAMPLE_COST_PER_MONTH = 9000
"""Cost per person-month (scenario currency) shown in the example `roles:` entry; the user sets their own."""


def missing_role_problems(loaded: LoadedScenario, calibrated: dict,
                          active_users: dict[str, int] | None = None) -> list[Problem]:
    """One problem per role that a stage of the calibrated scenario dict `calibrated` names and its
    `roles:` does not define, located at `data.stage_roles` when that named the role, else at
    `data`. `active_users`: people per role in the export's users sheet (None without one)."""
    defined = [r.get("name") for r in calibrated.get("roles") or []]
    stages: dict[str, list[str]] = {}
    for st in (calibrated.get("funnel") or {}).get("stages", []):
        if st.get("role") not in defined:
            stages.setdefault(st.get("role"), []).append(st.get("name"))
    if not stages:
        return []
    try:
        origins = scenario_origins(loaded.path)
    except InputError:  # the file is not here (a sweep point on a remote worker): no line
        origins = {}
    named = (calibrated.get("data") or {}).get("stage_roles") or {}
    out = []
    for role, names in stages.items():
        path = ("data", "stage_roles") if role in named.values() else ("data",)
        file, line = origin_of(origins, path, str(loaded.path))
        out.append(Problem(file, line, ".".join(path),
                           f"the export's {_stages(names)} worked by role '{role}', which the "
                           "scenario does not define",
                           _expected(role, defined, (active_users or {}).get(role.lower()),
                                     loaded.scenario.company.currency)))
    return out


def _stages(names: list[str]) -> str:
    return f"stage {names[0]} is" if len(names) == 1 else f"stages {', '.join(names)} are"


def _expected(role: str, defined: list[str], active: int | None, currency: str) -> str:
    kind = "sdr" if role.lower() == "sdr" else "ae"
    entry = f"roles: [{{name: {role}, kind: {kind}, cost_per_month: {EXAMPLE_COST_PER_MONTH}}}]"
    people = ("set headcount_start to the people in the role today (default 0)" if active is None
              else f"headcount_start comes from the users sheet: {active} active")
    tail = f"; or name one of {', '.join(defined)} in data.stage_roles" if defined else ""
    return (f"a `roles:` entry named {role}, e.g. `{entry}` with your own cost per person-month "
            f"({currency}); {people}{tail}")
