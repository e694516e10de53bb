"""`salesops`: a thin typer front end. Parse, call the Python API, write; one error boundary.

Exit codes: 0 success, 2 bad input (one `FILE:LINE: path: problem (expected)` line per problem on
stderr), 1 an internal error (a bug: rerun with --debug for the traceback).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import InputError
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
    from engine.run import RunOptions, run_scenario

    if workers < 1:
        raise InputError.single("--workers", "workers", f"got {workers}", "a whole number >= 1")
    options = RunOptions(seed=seed, replications=replications, workers=workers,
                         overrides=tuple(set_ or ()), excel=excel)
    with stage_progress(wants_progress(quiet)) as progress:
        folder = run_scenario(file, out, options, progress)
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

    summary = run_sweep(sweep_file, out, workers=workers, dask=dask, resume=resume, keep_runs=keep_runs,
                        progress=wants_progress(quiet))
    typer.echo(str(summary))


@app.command()
def compare(
    dirs: Annotated[list[Path], typer.Argument(help="Run folders to compare.")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
) -> None:
    """Side-by-side report of several run folders."""
    from reports.compare import compare_runs

    compare_runs(list(dirs), out)
    typer.echo(f"wrote {out}")


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
    file: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    vary: Annotated[str, typer.Option(help="Dotted scenario path to vary.")],
    from_: Annotated[float, typer.Option("--from", help="Low end of the search interval.")],
    to: Annotated[float, typer.Option("--to", help="High end of the search interval.")],
    until: Annotated[str, typer.Option(help="Breaking condition 'METRIC OP VALUE'.")],
    replications: Annotated[int | None, typer.Option(help="Replications per probe.")] = None,
    seed: Annotated[int | None, typer.Option(help="Root seed (common random numbers across probes).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Breaking-point search by bisection over simulated runs."""
    from engine.batch.stress import stress_search

    result = stress_search(file, vary, from_, to, until, replications=replications, seed=seed)
    typer.echo(json.dumps(result.as_dict()) if as_json else str(result))


@app.command()
def calibrate(
    crm_dir: Annotated[Path, typer.Argument(help="Folder of the CRM export.")],
    out: Annotated[Path, typer.Option("--out", help="Scenario fragment YAML to write.")],
    mapping: Annotated[Path | None, typer.Option(help="Column mapping YAML.")] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip and count bad rows.")] = False,
) -> None:
    """Estimate funnel parameters from a CRM export."""
    from engine.data.calibrate import calibrate_dir

    calibrate_dir(crm_dir, out, mapping=mapping, lenient=lenient)
    typer.echo(f"wrote {out}")


@app.command("synth-crm")
def synth_crm(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export to.")],
    seed: Annotated[int, typer.Option(help="Seed.")],
    scenario: Annotated[Path | None, typer.Option(help="Scenario whose funnel is the truth.")] = None,
    leads: Annotated[int | None, typer.Option(help="Approximate number of leads.")] = None,
) -> None:
    """Write a synthetic CRM export drawn from known parameters."""
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
