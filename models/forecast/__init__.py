"""Forecasters with calibrated uncertainty: global LightGBM quantile models over all kindergartens
(:class:`ForecastPipeline`), baselines (:class:`SeasonalNaive`, :class:`LastValue`), conformal
calibration and coherent district totals (:func:`district_forecasts`).

Pure computation: no files, no MLflow, no web. Imports are light; LightGBM loads on first fit.
"""

from models.forecast.baselines import BASELINES, LastValue, SeasonalNaive
from models.forecast.pipeline import ForecastPipeline
from models.forecast.reconcile import district_forecasts

__all__ = ["BASELINES", "ForecastPipeline", "LastValue", "SeasonalNaive", "district_forecasts"]
