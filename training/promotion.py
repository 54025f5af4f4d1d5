"""Champion or not: one clear, scale-free comparison of two models' backtests.

The score of a model is its **backtest loss** over the targets planners act on — children under 3,
children over 3 and § 31 decisions (those present) — pooled over kindergartens, origins and
horizons 1–12:

* ``wape``: Σ|actual − p50| / Σ|actual| (the error of the median forecast);
* ``scaled_pinball``: the pinball loss averaged over the seven quantiles, summed over rows and
  divided by Σ|actual| (the weighted quantile loss: it rewards honest intervals, not just a
  good median);
* ``loss`` = the mean over targets of (wape + scaled_pinball) / 2. Lower is better.

Both parts are shares of the actual volume, so targets of different size weigh the same. A
challenger replaces the champion only when its loss is lower **on the same rows** — the same data
(fingerprint), kindergartens, origins, months and targets; when the champion was backtested on
other data, the caller re-runs the champion's configuration on the challenger's data first
(:func:`training.retrain.train_and_register` does). A tie keeps the champion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.contract import KINDERGARTEN_ID, MONTH, QUANTILE_COLUMNS, QUANTILES

#: Targets whose forecasts decide staffing, hence promotion.
KEY_TARGETS = ("children_under3", "children_over3", "vedtak_31")
#: Columns identifying one backtest prediction.
ROW_KEY = (KINDERGARTEN_ID, "origin", MONTH, "target")


@dataclass(frozen=True)
class BacktestScore:
    """A model's backtest loss (see module doc) with its parts, per target and pooled."""

    wape: float
    scaled_pinball: float
    per_target: dict[str, float]
    n_rows: int

    @property
    def loss(self) -> float:
        return (self.wape + self.scaled_pinball) / 2

    def describe(self) -> str:
        return (
            f"loss {self.loss:.4f} (WAPE {self.wape:.4f}, scaled pinball "
            f"{self.scaled_pinball:.4f}, {self.n_rows} forecasts)"
        )


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    challenger: BacktestScore | None = None
    champion: BacktestScore | None = None


def backtest_score(
    predictions: pd.DataFrame, *, targets: Sequence[str] = KEY_TARGETS, model: str = "lightgbm"
) -> BacktestScore:
    """Score backtest predictions (FORECAST_COLUMNS + ``actual`` [+ ``model``]).

    Raises ValueError when no row of the key targets has an actual value.
    """
    rows = predictions
    if "model" in rows.columns:
        rows = rows[rows["model"] == model]
    rows = rows[rows["target"].isin(targets) & rows["actual"].notna()]
    if rows.empty:
        raise ValueError(f"no backtest rows with actuals for {', '.join(targets)}")
    wapes, pinballs, per_target = [], [], {}
    for target, group in rows.groupby("target", sort=True):
        actual = group["actual"].to_numpy(dtype=float)
        volume = max(float(np.abs(actual).sum()), 1e-9)
        wape = float(np.abs(actual - group["p50"].to_numpy(dtype=float)).sum()) / volume
        pinball = (
            float(
                np.mean(
                    [
                        _pinball(actual, group[column].to_numpy(dtype=float), q).sum()
                        for column, q in zip(QUANTILE_COLUMNS, QUANTILES, strict=True)
                    ]
                )
            )
            / volume
        )
        wapes.append(wape)
        pinballs.append(pinball)
        per_target[str(target)] = (wape + pinball) / 2
    return BacktestScore(
        wape=float(np.mean(wapes)),
        scaled_pinball=float(np.mean(pinballs)),
        per_target=per_target,
        n_rows=len(rows),
    )


def _pinball(actual: np.ndarray, predicted: np.ndarray, quantile: float) -> np.ndarray:
    diff = actual - predicted
    return np.maximum(quantile * diff, (quantile - 1) * diff)


def common_rows(
    challenger: pd.DataFrame, champion: pd.DataFrame, *, model: str = "lightgbm"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows (kindergarten, origin, month, target) both backtests forecast, in both."""
    frames = []
    for frame in (challenger, champion):
        if "model" in frame.columns:
            frame = frame[frame["model"] == model]
        frame = frame.copy()
        for column in ("origin", MONTH):
            frame[column] = frame[column].astype(str)
        frames.append(frame)
    keys = frames[0][list(ROW_KEY)].merge(
        frames[1][list(ROW_KEY)].drop_duplicates(), on=list(ROW_KEY)
    )
    return tuple(  # type: ignore[return-value]
        f.merge(keys.drop_duplicates(), on=list(ROW_KEY)) for f in frames
    )


def decide_promotion(
    challenger: pd.DataFrame,
    champion: pd.DataFrame | None,
    *,
    challenger_version: str,
    champion_version: str | None,
    min_improvement: float = 0.0,
    champion_unusable: Sequence[str] = (),
) -> PromotionDecision:
    """Promote the challenger when there is no champion, when the champion cannot forecast
    ``champion_unusable`` targets with this version of the engine, or when its backtest loss on
    the rows both forecast is lower than the champion's by more than ``min_improvement``."""
    if champion_unusable and champion_version is not None:
        score = backtest_score(challenger)
        return PromotionDecision(
            True,
            f"version {challenger_version} replaces champion version {champion_version}, which "
            f"this version of the engine cannot forecast with (its {', '.join(champion_unusable)} "
            f"models were fitted on features it does not build from these data; backtest "
            f"{score.describe()})",
            score,
            None,
        )
    if champion is None or champion_version is None:
        score = backtest_score(challenger)
        return PromotionDecision(
            True,
            f"version {challenger_version} is the first model: it becomes champion "
            f"(backtest {score.describe()})",
            score,
            None,
        )
    ours, theirs = common_rows(challenger, champion)
    try:
        ours_score, theirs_score = backtest_score(ours), backtest_score(theirs)
    except ValueError:
        return PromotionDecision(
            False,
            f"version {challenger_version} stays challenger: its backtest shares no "
            f"forecasts with champion version {champion_version}'s, so they cannot be "
            "compared (promote it by hand with `bemanning promote` if intended)",
        )
    threshold = theirs_score.loss * (1 - min_improvement)
    if ours_score.loss < threshold:
        change = 1 - ours_score.loss / theirs_score.loss
        return PromotionDecision(
            True,
            f"version {challenger_version} beats champion version {champion_version} on "
            f"the same backtest: {ours_score.describe()} against "
            f"{theirs_score.describe()}, {change:.1%} lower loss",
            ours_score,
            theirs_score,
        )
    return PromotionDecision(
        False,
        f"version {challenger_version} stays challenger: champion version "
        f"{champion_version} is as good or better on the same backtest "
        f"({theirs_score.describe()} against the challenger's {ours_score.describe()})",
        ours_score,
        theirs_score,
    )
