"""Do quality and work-environment indicators improve the sick-leave and turnover forecasts?

Run as ``python -m benchmarks.quality_features [--preset district] [--seed N] [--origins N]``.
It simulates the preset (SIMULATED data), writes it as raw exports and reads them back, so the
surveys come as the district gets them: yearly (December), published two months later. Then it
runs the same rolling-origin backtest of the forecasting pipeline (LightGBM, small) for
``sick_leave_rate`` and ``staff_leavers`` twice, on the same origins and seeds:

- without quality features (``features.table.QUALITY_FEATURES`` empty, the default);
- with the latest known 10-factor survey factors and parent-survey items as features.

Origins see only what was published then (``as_of`` → ``data.lineage.known_at``). It prints
WAPE, MASE and pinball loss per target for both arms and their ratio (with / without, below 1 =
the indicators help). Rule: an indicator family is kept as a default feature only if it lowers
the pinball loss of the target it is meant for by at least 1 %; the result, either way, goes to
benchmarks/README.md. It asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

TARGETS = ("sick_leave_rate", "staff_leavers")
#: Smallest improvement in pinball loss that counts as "helps" (1 %).
KEEP_BELOW_RATIO = 0.99


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="district", choices=("district", "city"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--origins", type=int, default=6)
    parser.add_argument("--span-months", type=int, default=24)
    args = parser.parse_args(argv)

    import pandas as pd

    import features.table as feature_table
    from data.quality import PARENT_SURVEY, WORK_ENVIRONMENT
    from data.validate import read_district
    from models.forecast import ForecastPipeline
    from simulate import simulate_district
    from simulate.raw import write_raw_exports
    from training.backtest import MODEL_NAME, rolling_origin_backtest

    sim = simulate_district(args.preset, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        write_raw_exports(sim.district, Path(tmp) / "raw")
        district = read_district(Path(tmp) / "raw")

    def make_pipeline() -> ForecastPipeline:
        return ForecastPipeline(
            targets=list(TARGETS),
            lgbm_params={"n_estimators": 80, "num_leaves": 15},
            calibration_origins=3,
            n_jobs=2,
            random_state=0,
        )

    arms = {"without": (), "with": (*WORK_ENVIRONMENT, *PARENT_SURVEY)}
    summaries = {}
    default = feature_table.QUALITY_FEATURES
    try:
        for arm, indicators in arms.items():
            feature_table.QUALITY_FEATURES = tuple(indicators)
            started = time.perf_counter()
            result = rolling_origin_backtest(
                district,
                make_pipeline,
                n_origins=args.origins,
                span_months=args.span_months,
                targets=list(TARGETS),
                baselines=False,
            )
            summary = result.summary()
            summaries[arm] = summary[summary["model"] == MODEL_NAME].set_index("target")
            print(f"{arm} quality features: backtest in {time.perf_counter() - started:.0f} s")
    finally:
        feature_table.QUALITY_FEATURES = default

    rows = []
    for target in TARGETS:
        row: dict[str, object] = {"target": target}
        for metric in ("wape", "mase", "pinball"):
            without = float(summaries["without"].loc[target, metric])
            with_ = float(summaries["with"].loc[target, metric])
            row[f"{metric}_without"] = round(without, 5)
            row[f"{metric}_with"] = round(with_, 5)
            row[f"{metric}_ratio"] = round(with_ / without, 3) if without else float("nan")
        row["verdict"] = "keep" if row["pinball_ratio"] < KEEP_BELOW_RATIO else "leave out"  # type: ignore[operator]
        rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    print(
        f"SIMULATED {args.preset} preset, seed {args.seed}, {args.origins} origins over the last "
        f"{args.span_months} months; ratio = with / without (below {KEEP_BELOW_RATIO} → keep)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
