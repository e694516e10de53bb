"""`salesops`: a thin typer front end. Parse, call the Python API, write; one error boundary.

Exit codes: 0 success, 2 bad input (one `FILE:LINE: path: problem (expected)` line per problem on
stderr), 3 the run completed without a feasible plan (folder written, diagnosis on stderr), 1 an
internal error (a bug: rerun with --debug for the traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import InputError, NoFeasiblePlan
from engine.quiet import quiet_libraries

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Sales-ops planning engine: calibrate, forecast, optimise, simulate, reconcile.")

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")]) -> None:
    """Load and validate scenarios: `ok FILE` or one error line per problem."""
    from engine.scenario.load import load_scenario

    problems = []
    for file in files:
        try:
            load_scenario(file)
            typer.echo(f"ok {file}")
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Run folder to write (replaced when complete).")],
    seed: Annotated[int | None, typer.Option(help="Root seed of the simulation.")] = None,
    replications: Annotated[int | None, typer.Option(help="Monte Carlo replications.")] = None,
    workers: Annotated[int, typer.Option(help="Processes for the replications.")] = 1,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override: dotted.path=value (repeatable).")] = None,
    excel: Annotated[bool, typer.Option("--excel", help="Also write report.xlsx.")] = False,
    quiet: Quiet = False,
) -> None:
    """Run the whole pipeline and write a run folder."""
    from engine.progress import stage_progress, wants_progress
    from engine.run import RunOptions, execute, load_for_run, write_run_folder
    from engine.runfolder.atomic import check_out_folder
    from reports.render import write_reports

    if workers < 1:
        raise InputError.single("--workers", "workers", f"got {workers}", "a whole number >= 1")
    options = RunOptions(seed=seed, replications=replications, workers=workers,
                         overrides=tuple(set_ or ()), excel=excel)
    with stage_progress(wants_progress(quiet)) as progress:
        check_out_folder(out, protect=(file,))
        result = execute(load_for_run(file, options), options, progress)
        folder = write_run_folder(result, out, options, render=write_reports)
    failures = result.failures
    if failures:
        raise NoFeasiblePlan([f"completed without a feasible plan: wrote {folder}",
                              *(line for failure in failures for line in failure.lines())])
    typer.echo(f"wrote {folder}")


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="SWEEP.yaml")],
    out: Annotated[Path, typer.Option("--out", help="Sweep folder (results store, report).")],
    workers: Annotated[int, typer.Option(help="Local worker processes.")] = 1,
    dask: Annotated[str | None, typer.Option(help="Dask scheduler address, or 'local' for a LocalCluster.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Run only the points without a result.")] = False,
    keep_runs: Annotated[bool, typer.Option("--keep-runs", help="Keep each point's run folder.")] = False,
    quiet: Quiet = False,
) -> None:
    """Run a batch of scenario variants, locally or on a Dask cluster."""
    from engine.batch.sweep import run_sweep
    from engine.progress import wants_progress
    from reports.render import write_reports
    from reports.sweep_report import sweep_report_html

    summary = run_sweep(sweep_file, out, workers=workers, dask=dask, resume=resume, keep_runs=keep_runs,
                        progress=wants_progress(quiet), render=write_reports, render_sweep=sweep_report_html)
    typer.echo(str(summary))


@app.command()
def compare(
    dirs: Annotated[list[Path], typer.Argument(help="Run folders to compare.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    metric: Annotated[list[str] | None, typer.Option("--metric", help="Also compare this metric (a name "
                                                     "`salesops metrics` lists, or a summary.json path; repeatable).")] = None,
) -> None:
    """Which plan, and how sure: paired differences of several run folders, side by side."""
    from reports.compare import compare_runs

    for warning in compare_runs(list(dirs), out, _compare_metrics(list(dirs), metric or [])):
        sys.stderr.write(f"warning: {warning}\n")
    typer.echo(f"wrote {out}")


def _compare_metrics(dirs: list[Path], names: list[str]) -> list[dict]:
    """Resolve metric names for `compare` (the simulated case read from the first run folder)."""
    from engine.batch.metrics import resolve
    from engine.batch.spec import check_metrics

    problems = check_metrics(names, None, where="--metric")
    if problems:
        raise InputError(problems)
    case = "base"
    summary = dirs[0] / "summary.json" if dirs else None
    if summary is not None and summary.is_file():
        case = (json.loads(summary.read_text(encoding="utf-8")).get("reconciliation") or {}).get("case") or "base"
    refs = [resolve(name, case) for name in names]
    return [{"name": r.name, "label": r.label, "path": r.path, "direction": r.direction} for r in refs]


@app.command()
def erlang(
    arrivals_per_hour: Annotated[float, typer.Option(help="Contacts arriving per hour.")],
    aht_seconds: Annotated[float, typer.Option(help="Average handle time (seconds).")],
    target: Annotated[float, typer.Option(help="Service-level target share, e.g. 0.8.")],
    within_seconds: Annotated[float, typer.Option(help="Answer-time threshold (seconds).")],
    shrinkage: Annotated[float, typer.Option(help="Share of scheduled time lost (0-1).")] = 0.0,
    patience_seconds: Annotated[float | None, typer.Option(help="Mean patience: staff by Erlang A.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Agents needed for a service level (Erlang C, or Erlang A with --patience-seconds)."""
    from solvers.erlang import agents_for_target

    try:
        fig = agents_for_target(arrivals_per_hour, aht_seconds, target, within_seconds,
                                shrinkage=shrinkage, patience_seconds=patience_seconds)
    except ValueError as exc:
        raise InputError.single("erlang", "arguments", str(exc), "positive rates and shares in [0, 1)") from None
    data = {"agents": fig.agents, "service_level": fig.service_level, "asa_seconds": fig.asa_seconds,
            "occupancy": fig.occupancy, "p_wait": fig.p_wait}
    if shrinkage:
        data["scheduled_agents"] = fig.scheduled_agents
    if as_json:
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        typer.echo(f"{key:>16}: {value:.6g}" if isinstance(value, float) else f"{key:>16}: {value}")


@app.command()
def stress(
    target: Annotated[Path, typer.Argument(help="Scenario YAML file, or a run folder whose plan to freeze.")],
    vary: Annotated[str, typer.Option(help="Dotted scenario path to vary, e.g. demand.scale.")],
    from_: Annotated[float, typer.Option("--from", help="Low end of the search interval (expected ok).")],
    to: Annotated[float, typer.Option("--to", help="High end of the search interval (expected broken).")],
    until: Annotated[str, typer.Option(help="Breaking condition 'METRIC OP VALUE' (see `salesops metrics`).")],
    replan: Annotated[bool, typer.Option("--replan", help="Re-optimise the plan at every probe.")] = False,
    replications: Annotated[int | None, typer.Option(help="Replications per probe.")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (the same at every probe: common random numbers).")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Final bracket width (default |to - from| / 16).")] = None,
    workers: Annotated[int, typer.Option(help="Processes for the replications.")] = 1,
    out: Annotated[Path, typer.Option("--out", help="HTML page with the metric against the varied value.")] = Path(
        "stress.html"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of the sentence and table.")] = False,
    quiet: Quiet = False,
) -> None:
    """How far can VARY go before METRIC breaks? Bisection over simulated probes of a frozen plan."""
    from engine.batch.stress import stress_search
    from engine.batch.stress_view import expected_probes, report_data, stress_progress
    from reports.stress_report import write_stress_report

    if workers < 1:
        raise InputError.single("--workers", "workers", f"got {workers}", "a whole number >= 1")
    tol = tolerance if tolerance is not None else abs(to - from_) / 16
    with stress_progress(vary, expected_probes(from_, to, tol), quiet) as show:
        result = stress_search(target, vary, from_, to, until, replications=replications, seed=seed,
                               tolerance=tolerance, workers=workers, replan=replan, progress=show)
    write_stress_report(report_data(result), out)
    typer.echo(json.dumps(result.as_dict()) if as_json else f"{result}\nwrote {out}")


@app.command()
def metrics(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario: name its funnel stages in the list.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Metric names `--until`, sweep `metrics` and `objectives` accept, with units and directions."""
    from engine.batch.metrics import catalogue_rows

    stages = None
    if scenario is not None:
        from engine.scenario.load import load_scenario

        funnel = load_scenario(scenario).scenario.funnel
        stages = [st.name for st in funnel.stages] if funnel is not None else None
    rows = catalogue_rows(stages)
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    typer.echo("  ".join(k.ljust(widths[k]) for k in keys).rstrip())
    for row in rows:
        typer.echo("  ".join(row[k].ljust(widths[k]) for k in keys).rstrip())
    typer.echo("\nA short name is the simulated median (p50) when the simulation has it, else the plan's "
               "figure for the simulated case; write simulation.NAME.p10|p50|p90 or plan.NAME to choose.")


@app.command()
def calibrate(
    crm_dir: Annotated[Path, typer.Argument(help="Folder of the CRM export.")],
    out: Annotated[Path, typer.Option("--out", help="Scenario fragment YAML to write (a file, not a folder).")],
    preset: Annotated[str | None, typer.Option(help="Export shape: salesforce, hubspot or pipedrive.")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping YAML (overrides the preset's columns).")] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip and count bad rows.")] = False,
    complete: Annotated[Path | None, typer.Option(
        help="Write a complete scenario: this scenario with the calibrated sections.")] = None,
) -> None:
    """Estimate funnel parameters from a CRM export (lead-level, or a deal report with --preset)."""
    from engine.data.calibrate_export import calibrate_export

    result = calibrate_export(crm_dir, out, preset=preset, mapping=mapping, lenient=lenient, complete=complete)
    for line in result.messages:
        sys.stderr.write(line + "\n")
    for line in result.warnings:
        sys.stderr.write(f"warning: {line}\n")
    typer.echo(f"wrote {out}")


@app.command()
def units(
    boundaries: Annotated[Path, typer.Argument(help="GeoJSON, Shapefile or GeoPackage, one polygon per unit.")],
    id_column: Annotated[str, typer.Option("--id", help="Column holding the unit id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for units.csv and adjacency.csv.")],
    measure: Annotated[list[str] | None, typer.Option(
        "--measure", help="Column to copy into units.csv, or NAME=COLUMN to rename it (repeatable).")] = None,
    queen: Annotated[bool, typer.Option("--queen", help="Units touching at a corner also border.")] = False,
    link_islands: Annotated[bool, typer.Option("--link-islands", help="Join islands to their closest unit.")] = False,
) -> None:
    """Write units.csv (id, x, y in km, area_km2, measures) and adjacency.csv from a boundary file."""
    from engine.batch.store import write_text
    from engine.plan.territory_boundaries import unit_tables

    table, adjacency, notes = unit_tables(boundaries, id_column, measure or [],
                                          "queen" if queen else "rook", link_islands)
    write_text(out / "units.csv", table.to_csv(index=False))
    write_text(out / "adjacency.csv", adjacency.to_csv(index=False))
    for note in notes:
        sys.stderr.write(f"note: {note}\n")
    typer.echo(f"wrote {out / 'units.csv'} ({len(table)} units) and {out / 'adjacency.csv'} "
               f"({len(adjacency)} borders)")


@app.command("synth-crm")
def synth_crm(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export to.")],
    seed: Annotated[int, typer.Option(help="Seed.")],
    scenario: Annotated[Path | None, typer.Option(help="Scenario whose funnel is the truth.")] = None,
    leads: Annotated[int | None, typer.Option(help="Approximate number of leads.")] = None,
    preset: Annotated[str | None, typer.Option(
        help="Write a deal export in this tool's shape (salesforce, hubspot, pipedrive).")] = None,
    deals: Annotated[int, typer.Option(help="Deals in a --preset export.")] = 3000,
) -> None:
    """Write a synthetic CRM export drawn from known parameters."""
    if preset is not None:
        from engine.data.export_mapping import PRESETS
        from engine.data.synthetic_deals import write_export

        if preset not in PRESETS:
            raise InputError.single("--preset", "preset", f"unknown preset {preset!r}", " / ".join(PRESETS))
        typer.echo(f"wrote {write_export(preset, out, seed, deals=deals, scenario_path=scenario)}")
        return
    from engine.data.synthetic import synth_crm as make

    folder = make(out, seed, scenario_path=scenario, leads=leads)
    typer.echo(f"wrote {folder}")


@app.command()
def schema(
    markdown: Annotated[bool, typer.Option("--markdown", help="The Markdown reference instead.")] = False,
) -> None:
    """Print the scenario JSON Schema."""
    from engine.scenario.model import Scenario

    if markdown:
        from engine.scenario.reference import scenario_reference

        typer.echo(scenario_reference())
        return
    typer.echo(json.dumps(Scenario.model_json_schema(), indent=2))


def _is_usage_error(exc: Exception) -> bool:
    """A command-line usage error from typer (its vendored click; exit code 2)."""
    return hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int)


def _print_problems(exc: InputError) -> None:
    for problem in exc.problems:
        sys.stderr.write(problem.format() + "\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `salesops` console script: the one error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    with quiet_libraries() as held:
        code = _run_app(args, debug)
    if debug:
        for line in held:
            sys.stderr.write(f"library warning: {line}\n")
    return code


def _run_app(args: list[str], debug: bool) -> int:
    """Run the typer app; map every outcome to an exit code (the one error boundary)."""
    try:
        app(args=args, prog_name="salesops", standalone_mode=False)
    except InputError as exc:
        _print_problems(exc)
        return 2
    except NoFeasiblePlan as exc:
        sys.stderr.write("\n".join(exc.lines) + "\n")
        return 3
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the one boundary that turns a bug into exit 1
        if _is_usage_error(exc):
            exc.show()
            return exc.exit_code
        if debug:
            raise
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)\n")
        return 1
    return 0


def entry() -> None:
    """Console-script wrapper: exit with `main()`'s code."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
