#!/usr/bin/env bash
# The main job on the simulated district, end to end, starting from the district's raw exports:
# simulate (raw) → assemble + validate → features → train
# (backtest, MLflow registry) → forecast → plan → benefit report → (on a terminal) serve the app.
# Everything it shows is SIMULATED data.
set -euo pipefail
out=${1:-demo}
bin=.venv/bin
mkdir -p "$out"
export MLFLOW_DISABLE_TELEMETRY=true GIT_PYTHON_REFRESH=quiet

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "0/8 One place for the demo's state: $out/bemanning.toml (MLflow store, app database)"
# every command below, and the README's commands on $out/data, find them with no flag
$bin/bemanning init "$out"

step "1/8 Simulate the district preset as the district's raw exports (SIMULATED data)"
$bin/bemanning simulate "$out/raw" --preset district --seed 7 --raw
echo "Raw exports (several systems, own headers, keys and periods) described by $out/raw/sources.toml"

step "2/8 Assemble the raw exports into the contract's tables (with lineage.csv) and validate them"
$bin/bemanning assemble "$out/raw" --out "$out/data"
$bin/bemanning validate "$out/raw"

step "3/8 Build the point-in-time feature table (straight from the raw folder)"
$bin/bemanning features "$out/raw" --out "$out/features.parquet"

step "4/8 A quick backtest against the baselines (4 origins), with fan charts and calibration plots"
$bin/bemanning backtest "$out/data" --origins 4 --out "$out/backtest"

step "5/8 Train (12-origin backtest decides promotion), track in MLflow ($out/mlflow.db), register"
$bin/bemanning train "$out/data"

step "6/8 Forecast the next 12 months with the champion"
$bin/bemanning forecast "$out/data" --out "$out/forecasts.csv"

step "7/8 Plan the extra staff, pedagogues and resource pedagogues"
$bin/bemanning plan "$out/data" --pool staff=8 --pool pedagogue=4 --pool resource_pedagogue=5 \
  --out "$out/plan.csv"

step "8/8 Write the benefit report"
$bin/bemanning report "$out/data" --pool staff=8 --pool pedagogue=4 --pool resource_pedagogue=5 \
  --out "$out/report.html"

echo "MLflow: $bin/mlflow ui --backend-store-uri sqlite:///$(cd "$out" && pwd)/mlflow.db"

if [ -t 0 ] && [ "${NO_SERVE:-0}" != 1 ]; then
  step "Serving the planners' app (Ctrl-C to stop)"
  exec $bin/bemanning serve --dev --data "$out/data"
else
  echo "Planners' app: $bin/bemanning serve --dev --data $out/data  (prints a demo planner login)"
fi
