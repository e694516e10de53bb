"""Fuzz every way a user hands the engine input (issue 21): hypothesis draws scenario values,
`--set` overrides and CRM rows; each command must exit 0 or 2 (never 1), within 30 s, print no
traceback, and touch no file outside `--out`.

Deterministic (`derandomize`), no example database, and a bounded budget: the three tests run in
well under a minute together (the scenario test validates only; the run and CRM tests run the
pipeline in this process, a handful of examples each).
"""

from __future__ import annotations

import math
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from minimal_scenario import BASE

from engine.cli import main

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "salesops-hypothesis")  # keep the clone clean
HANG_S = 30
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: examples are reproducible
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

ANY_VALUE = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e9, 0.0, -0.0, 1e-300]),
    st.booleans(), st.none(), st.text(max_size=12),
    st.lists(st.one_of(st.integers(-3, 3), st.floats(-2, 2), st.booleans()), max_size=14),
    st.dictionaries(st.text(max_size=6), st.one_of(st.floats(-1, 2), st.text(max_size=4)), max_size=3),
)
"""Any YAML-representable value, hostile ones often."""
SMALL_VALUE = st.one_of(
    st.integers(min_value=-5, max_value=60), st.floats(min_value=-2.0, max_value=50.0),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, 0.0, 1e-9]), st.booleans(), st.none(),
    st.sampled_from(["", "x", "SDR", "2027-13", "-1", "=1+1"]),
    st.lists(st.floats(min_value=0.0, max_value=2.0), max_size=13),
)
"""Values that keep a run small when valid (no huge horizon, volume or replication count)."""

PATHS = [
    "name", "horizon.start", "horizon.months", "segments.0.name", "segments.0.deal_size.mean",
    "segments.0.deal_size.cv", "segments.0.deal_size.kind", "segments.0.gross_margin", "regions.0.name",
    "demand.baseline.0.leads_per_month", "demand.baseline.0.segment", "demand.seasonality",
    "demand.seasonality.0", "demand.annual_growth", "demand.uncertainty_cv", "funnel.stages.0.conversion",
    "funnel.stages.0.work_hours", "funnel.stages.0.role", "funnel.stages.0.duration_days.mean",
    "funnel.lead_wait_limit_hours", "funnel.max_open_opportunities_per_rep", "roles.0.cost_per_month",
    "roles.0.headcount_start", "roles.0.ramp", "roles.0.attrition_per_year", "roles.0.selling_share",
    "roles.0.hours_per_month", "roles.0.max_hires_per_month", "roles.0.min_headcount", "roles.0.max_headcount",
    "roles.0.hiring_lead_time_months", "roles.0.kind", "plan.budget_per_month", "plan.cases", "plan.objective",
    "plan.shared_months", "plan.mip_gap", "plan.case_weights.low", "plan.fixed_hires", "plan.ratios",
    "simulation.seed", "simulation.case", "shocks", "company.arr_today", "currency",
]
OUTCOMES: list[int] = []
"""Exit codes of the run fuzz examples (a check that some runs do complete)."""
RUN_PATHS = [p for p in PATHS if p not in {"horizon.months", "demand.baseline.0.leads_per_month",
                                            "roles.0.headcount_start", "roles.0.min_headcount"}]


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _snapshot(folder: Path, skip: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file() and skip not in p.parents}


def _call(args: list[str], capfd) -> tuple[int, str]:
    with _deadline(HANG_S):
        code = main(args)
    err = capfd.readouterr().err
    return code, err


def _assert_clean(code: int, err: str, what: object) -> None:
    assert code in (0, 2), (what, code, err)
    assert "Traceback" not in err and "internal error" not in err, (what, err)
    if code == 2:
        assert err.strip(), what
        assert all(": " in line for line in err.strip().splitlines()), (what, err)


def _set_path(data: dict, dotted: str, value: object) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        key = int(part) if part.isdigit() else part
        if isinstance(node, list):
            node = node[key]
        else:
            node = node.setdefault(key, {}) if isinstance(node.get(key), dict | list) else node.setdefault(key, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


@settings(FUZZ, max_examples=100)
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), ANY_VALUE), min_size=1, max_size=4))
def test_fuzz_scenario_values_validate_cleanly(capfd, edits: list[tuple[str, object]]) -> None:
    data = yaml.safe_load(BASE)
    for path, value in edits:
        _set_path(data, path, value)
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "s.yaml"
        scenario.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        code, err = _call(["validate", str(scenario)], capfd)
    _assert_clean(code, err, edits)


def _override(path: str, value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf).removesuffix("\n")
    return f"{path}={text.removesuffix('...').strip()}"


@settings(FUZZ, max_examples=12)
@given(edits=st.lists(st.tuples(st.sampled_from(RUN_PATHS), SMALL_VALUE), min_size=1, max_size=3),
       raw=st.sampled_from(["", "roles.-1.cost_per_month=1", "roles..x=1", "a.b.c", "plan.cases=[]",
                            "name=*alias", "x=[[[[[[[[[[1]]]]]]]]]]"]))
def test_fuzz_set_overrides_run_cleanly(capfd, edits: list[tuple[str, object]], raw: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenario = folder / "s.yaml"
        scenario.write_text(BASE.replace("months: 12", "months: 3"), encoding="utf-8")
        (folder / "keep").mkdir()
        (folder / "keep" / "notes.txt").write_text("user file")
        out = folder / "out"
        before = _snapshot(folder, out)
        sets = [arg for path, value in edits for arg in ("--set", _override(path, value))]
        sets += ["--set", raw] if raw else []
        code, err = _call(["run", str(scenario), "--out", str(out), "-q", "--replications", "1", *sets], capfd)
        _assert_clean(code, err, sets)
        OUTCOMES.append(code)
        assert _snapshot(folder, out) == before, sets
        assert (out / "manifest.json").is_file() if code == 0 else not out.exists()
        assert sorted(p.name for p in folder.iterdir()) == sorted(["s.yaml", "keep", *(["out"] if code == 0 else [])])


CRM_VALUES = st.one_of(st.text(max_size=15), st.sampled_from([
    "", "<script>x</script>", "seg\x00ment", "2099-01-01T00:00:00", "1900-01-01", "nan", "-1",
    "=HYPERLINK(\"x\")", "1e308", "true", "NA", "\"", ",", "\n"]))


@settings(FUZZ, max_examples=8)
@given(cells=st.lists(st.tuples(st.sampled_from(["leads.csv", "opportunities.csv", "stage_history.csv",
                                                 "activities.csv"]),
                                st.integers(0, 40), st.integers(0, 8), CRM_VALUES), min_size=1, max_size=6),
       lenient=st.booleans())
def test_fuzz_crm_rows_calibrate_cleanly(capfd, crm_export: Path, cells, lenient: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        crm = Path(tmp) / "crm"
        shutil.copytree(crm_export, crm)
        for name, row, col, value in cells:
            lines = (crm / name).read_text(encoding="utf-8").split("\n")
            r = 1 + row % max(len(lines) - 2, 1)
            fields = lines[r].split(",")
            fields[col % len(fields)] = '"' + value.replace('"', '""') + '"'
            lines[r] = ",".join(fields)
            (crm / name).write_text("\n".join(lines), encoding="utf-8")
        outputs = Path(tmp) / "cal"  # calibrate writes cal/fragment.yaml and its report beside it
        outputs.mkdir()
        before = _snapshot(Path(tmp), outputs)
        code, err = _call(["calibrate", str(crm), "--out", str(outputs / "fragment.yaml"),
                           *(["--lenient"] if lenient else [])], capfd)
        _assert_clean(code, err, cells)
        assert _snapshot(Path(tmp), outputs) == before


@pytest.fixture(scope="module")
def crm_export(tmp_path_factory) -> Path:
    """A small synthetic CRM export (300 leads) that calibrates cleanly."""
    folder = tmp_path_factory.mktemp("crm") / "export"
    assert main(["synth-crm", "--out", str(folder), "--seed", "7", "--leads", "300"]) == 0
    return folder


def test_some_fuzzed_runs_complete() -> None:
    """The run fuzz is not all refusals: some drawn overrides give a plan (checked after it ran)."""
    if not OUTCOMES:
        pytest.skip("the run fuzz test did not run in this process")
    assert 0 in OUTCOMES and 2 in OUTCOMES, OUTCOMES
