"""The benefit report (gevinstrapport): the plan against the proportional key and no pool, as
Oslo reports value — avoided cost, time saved, higher quality — in one self-contained HTML file.

* :mod:`~serving.report.numbers` — the numbers as plain data, from ``PlanResult.summary``;
* :mod:`~serving.report.benefits` — the benefits, the measures where the plan does worse and why,
  the trade-offs and the spend sentence, from those numbers;
* :mod:`~serving.report.forecast_quality` — the champion's backtest against the best baseline;
* :mod:`~serving.report.outcomes` — per-kindergarten outcomes from the plan's own scenarios;
* :mod:`~serving.report.realised` — outcomes on realised (hidden) months and the oracle;
* :mod:`~serving.report.assemble` / :mod:`~serving.report.render` — tables, charts, HTML;
* :mod:`~serving.report.service` — from a data set and the champion to the file;
* :mod:`~serving.report.privacy` — "<5" suppression of § 31/§ 37 counts.

Heavy libraries (matplotlib, Jinja2, the optimiser) are imported where they are used.
"""
