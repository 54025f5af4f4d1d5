"""The benefit report's forecast-quality section: per target, the champion's backtest against
the best baseline in the report's words, the rare-count targets with their own measures, and one
sentence naming where the forecasts do not beat the baseline."""

from __future__ import annotations

import pandas as pd

from serving.i18n import N_
from serving.report.tables import Column, ReportTable
from serving.report.wording import (
    DECIMALS,
    report_words,
    target_word,
    written,
)
from training.evaluation import MEASURE_LABELS, forecast_quality_summary
from training.metrics import RARE_COUNT_TARGETS

#: The forecast-quality measures (training.metrics), as the report names them.
MEASURE_WORDS = {
    "wape": N_("WAPE of the median"),
    "mae_mean": N_("MAE of the expected number"),
    "scaled_pinball": N_("Scaled pinball loss"),
    "poisson_deviance": N_("Poisson deviance"),
}
#: Beside the MAE of the expected number, the measures that fit counts that are mostly zero:
#: the whole forecast distribution (scaled pinball) and the expected number as a Poisson mean.
RARE_COUNT_MEASURES = ("scaled_pinball", "poisson_deviance")


def quality_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """The backtest against the best of all baselines per target and horizon
    (:func:`training.evaluation.forecast_quality_summary`): each target's headline measure, and
    for counts that are mostly zero (staff leavers, § 37) also the measures that fit them.
    ``measure`` is the metric's code."""
    code_of = {label: code for code, label in MEASURE_LABELS.items()}
    parts = [forecast_quality_summary(metrics)]
    rare = metrics[metrics["target"].isin(RARE_COUNT_TARGETS)]
    for measure in RARE_COUNT_MEASURES:
        if not rare.empty and measure in rare.columns and rare[measure].notna().any():
            parts.append(forecast_quality_summary(rare, measure=measure))
    quality = pd.concat(parts, ignore_index=True)
    quality["measure"] = [code_of.get(str(m), str(m)) for m in quality["measure"]]
    order = {target: i for i, target in enumerate(dict.fromkeys(quality["target"]))}
    return quality.sort_values("target", key=lambda t: t.map(order), kind="stable").reset_index(
        drop=True
    )


def not_better_sentence(quality: pd.DataFrame, language: str) -> str:
    """In words, where the model does no better than the best baseline (ratio ≥ 1 as shown)
    — never hidden in a table."""
    _ = report_words(language)
    shown = quality["ratio"].round(DECIMALS["ratio"])
    worse = quality[shown >= 1]
    if quality["ratio"].isna().all():
        return ""
    if worse.empty:
        return _("The model beats the best baseline on every target and measure shown.")
    items = []
    for target, code, ratio in zip(worse["target"], worse["measure"], worse["ratio"], strict=True):
        measure = _(MEASURE_WORDS[code]) if code in MEASURE_WORDS else str(code)
        items.append(
            _(
                "%(target)s (%(measure)s, ratio %(ratio)s)",
                target=target_word(language, str(target)).lower(),
                measure=measure.lower(),
                ratio=written(float(ratio), "ratio", language),
            )
        )
    return _(
        "The model does no better than the best baseline for %(items)s: the forecasts of those "
        "figures, and the plan's need where it rests on them, are no surer than the simple rule "
        "would give.",
        items="; ".join(items),
    )


def quality_table(metrics: pd.DataFrame | None, language: str) -> tuple[ReportTable | None, str]:
    """The forecast-quality table and, in words, where the model is no better."""
    if metrics is None or metrics.empty:
        return None, ""
    _ = report_words(language)
    quality = quality_rows(metrics)
    sentence = not_better_sentence(quality, language)
    codes = list(quality["measure"])
    quality["kind_of_value"] = ["share" if code == "wape" else "ratio" for code in codes]
    quality["measure"] = [_(MEASURE_WORDS[c]) if c in MEASURE_WORDS else c for c in codes]
    quality["target"] = [target_word(language, str(t)) for t in quality["target"]]
    note = _(
        "Best baseline: at each horizon the best of all baselines (same month last year, last "
        "value) on the measure. Staff leavers and § 37 decisions are zero in most months, so a "
        "median of 0 says nothing: they are read by the error of the expected number, the "
        "scaled pinball loss of the whole forecast and the Poisson deviance. Pooled over "
        "horizons 1–12, each horizon weighted by its number of scored rows."
    )
    table = ReportTable(
        "forecast-quality-table",
        _("Backtest of the champion against the best baseline"),
        (
            Column("target", _("Target")),
            Column("measure", _("Measure (lower is better)")),
            Column("model_value", _("Model"), "by_row"),
            Column("baseline_value", _("Best baseline"), "by_row"),
            Column("ratio", _("Ratio (model / best baseline)"), "ratio"),
            Column("model_coverage_80", _("80 % interval coverage: model"), "share"),
            Column("baseline_coverage_80", _("80 % coverage: best baseline"), "share"),
        ),
        quality,
        note=note,
        language=language,
    )
    return table, sentence
