"""The decision backtest in MLflow: its figures and plots logged with the model's run, and read
back (the plan settings tuned on decisions are stored with the champion version by
:mod:`training.tuned_defaults`).

* ``log_decision_backtest`` adds metrics ``decision.regret`` (overall),
  ``decision.regret.<origin>``,
  ``decision.vss``, ``decision.evpi`` and the artifacts ``decision_backtest/outcomes.csv``,
  ``decision_backtest/summary.csv`` and the plots to an existing run (the model's), or to a
  new run of the experiment when there is no model yet.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from data.contract import SIMULATED_LABEL
from training.decisions import (
    KEY,
    MEDIAN_ONLY,
    NO_POOL,
    ORACLE,
    PLAN,
    DecisionBacktest,
)
from training.settings import TrainingSettings

DECISION_REASON_TAG = "decision_promotion_reason"
ARTIFACT_DIR = "decision_backtest"
OUTCOMES_FILE = "outcomes.csv"
SUMMARY_FILE = "summary.csv"
PLOTTED = (PLAN, KEY, NO_POOL, MEDIAN_ONLY, ORACLE)
PLOT_LABELS = {
    PLAN: "plan",
    KEY: "proportional key",
    NO_POOL: "no pool",
    MEDIAN_ONLY: "median-only plan",
    ORACLE: "oracle (perfect information)",
}


def decision_metrics(result: DecisionBacktest) -> dict[str, float]:
    """The figures logged as MLflow metrics (NaN regrets left out)."""
    values: dict[str, float] = {}
    for row in result.summary.to_dict("records"):
        suffix = "" if row["origin"] == "overall" else f".{row['origin']}"
        for name in ("regret", "vss", "evpi", "regret_plan_equity_0", "regret_median_only"):
            value = float(row.get(name, float("nan")))
            if value == value:
                values[f"decision.{name}{suffix}"] = value
    values["decision.seconds"] = result.seconds
    return values


def write_decision_plots(
    result: DecisionBacktest, folder: Path, *, simulated: bool
) -> dict[str, Path]:
    """Two PNGs: realised unmet FTE-months per origin by allocation, and regret per origin."""
    # Figures without pyplot, so saving PNGs never switches the process's backend (a notebook
    # calling this would otherwise lose its inline charts).

    folder.mkdir(parents=True, exist_ok=True)
    label = f"\n{SIMULATED_LABEL}" if simulated else ""
    wide = result.outcomes.pivot_table(index="origin", columns="allocation", values="unmet_total")
    origins = list(wide.index)
    x = np.arange(len(origins))
    width = 0.8 / len(PLOTTED)
    figure = Figure(figsize=(8, 4.5))
    axis = figure.subplots()
    for i, name in enumerate(PLOTTED):
        axis.bar(x + i * width, wide[name].to_numpy(), width, label=PLOT_LABELS[name])
    axis.set_xticks(x + 0.4 - width / 2, [f"plan made {o}" for o in origins])
    axis.set_ylabel("realised unmet FTE-months (12 months)")
    axis.set_title("Decision backtest: what each allocation left unmet" + label)
    axis.legend(fontsize=8)
    figure.tight_layout()
    paths = {"unmet_by_origin": folder / "decision_unmet_by_origin.png"}
    figure.savefig(paths["unmet_by_origin"], dpi=110)

    per_origin = result.summary[result.summary["origin"] != "overall"]
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    axis.plot(per_origin["origin"], per_origin["regret"], marker="o", label="plan")
    if "regret_median_only" in per_origin:
        axis.plot(
            per_origin["origin"],
            per_origin["regret_median_only"],
            marker="s",
            label="median-only plan",
        )
    axis.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="proportional key")
    axis.axhline(0.0, color="black", linewidth=1, label="oracle")
    axis.set_ylabel("regret (key = 1, oracle = 0)")
    axis.set_title("Decision backtest: regret per origin" + label)
    axis.legend(fontsize=8)
    figure.tight_layout()
    paths["regret_by_origin"] = folder / "decision_regret_by_origin.png"
    figure.savefig(paths["regret_by_origin"], dpi=110)
    return paths


def log_decision_backtest(
    settings: TrainingSettings,
    result: DecisionBacktest,
    *,
    run_id: str | None,
    simulated: bool,
    extra_params: Mapping[str, Any] | None = None,
) -> str:
    """Log the backtest to ``run_id`` (the model's run) or to a new run; returns the run id."""
    from mlflow import MlflowClient

    from training.tracking import check_tracking_server, quiet_mlflow, use_experiment

    quiet_mlflow()
    check_tracking_server(settings)
    client = MlflowClient(settings.tracking_uri)
    if run_id is None:
        experiment = use_experiment(settings)
        run_id = client.create_run(
            experiment.experiment_id, run_name="decision-backtest"
        ).info.run_id
        client.set_terminated(run_id)
    for name, value in decision_metrics(result).items():
        client.log_metric(run_id, name, value)
    tags = {
        "decision.origins": ",".join(str(o) for o in result.origins),
        "decision.settings": json.dumps(result.settings.as_dict()),
        "decision.equity_weight": str(result.policy.equity_weight),
        "decision.pools": json.dumps(dict(result.policy.pools)),
        **{f"decision.{k}": str(v) for k, v in (extra_params or {}).items()},
    }
    for tag, text in tags.items():
        client.set_tag(run_id, tag, text)
    with tempfile.TemporaryDirectory(prefix="bemanning-decisions-") as tmp:
        folder = Path(tmp)
        result.outcomes.to_csv(folder / OUTCOMES_FILE, index=False)
        result.summary.to_csv(folder / SUMMARY_FILE, index=False)
        write_decision_plots(result, folder, simulated=simulated)
        client.log_artifacts(run_id, str(folder), ARTIFACT_DIR)
    return run_id


def load_decision_evidence(
    tracking_uri: str, run_id: str
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(outcomes, summary) of the decision backtest logged with ``run_id``, or None."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from training.tracking import quiet_mlflow

    quiet_mlflow()
    try:
        with tempfile.TemporaryDirectory(prefix="bemanning-evidence-") as tmp:
            folder = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run_id,
                    artifact_path=ARTIFACT_DIR,
                    dst_path=tmp,
                    tracking_uri=tracking_uri,
                )
            )
            outcomes = pd.read_csv(folder / OUTCOMES_FILE, dtype={"origin": str})
            summary = pd.read_csv(folder / SUMMARY_FILE, dtype={"origin": str})
    except (MlflowException, OSError):
        return None
    return outcomes, summary


__all__ = [
    "decision_metrics",
    "load_decision_evidence",
    "log_decision_backtest",
    "write_decision_plots",
]
