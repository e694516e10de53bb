"""Reconciliation and reports: what an ops director and finance read.

Public API (called by engine/run.py and engine/cli.py):

* `engine.reconcile.stage.reconcile(loaded, outputs) -> StageOutput` (table reconciliation.csv,
  summary with headline / flags / adjustments);
* `reports.render.write_reports(folder, result, excel=False)` (report.html, report.md,
  report.xlsx);
* `reports.compare.compare_runs(run_dirs, out_html)` (`salesops compare`).

`reports/` reads stage results and never solves anything.
"""
