"""Reconciliation and reports: what an ops director and finance read.

Public API (engine/cli.py passes the renderers to engine.run and engine.batch.sweep):

* `engine.reconcile.stage.reconcile(loaded, outputs) -> StageOutput` (table reconciliation.csv,
  summary with headline / flags / adjustments), the engine stage whose result reports render;
* `reports.render.write_reports(folder, result, excel=False)` (report.html, report.md,
  report.xlsx);
* `reports.compare.compare_runs(run_dirs, out_html)` (`salesops compare`);
* `reports.sweep_report.sweep_report_html(frame, vary, metrics, ...)` (a sweep's report.html).

`reports/` reads stage results and never solves anything.
"""
