"""The plan settings tuned on decisions, stored with the champion version and read back.

They are one JSON model-version tag, :data:`PLAN_DEFAULTS_TAG`: ``{"settings": {...},
"regret": r, "default_regret": r0, "equity_weight": w, "origins": [...], "study": name,
"trial": n}``. A loaded model carries it as ``plan_defaults``
(:func:`training.registry.load_model`).

Apart from :mod:`training.decision_tracking` (the decision backtest's figures and plots in
MLflow) so that every model load — each plan, forecast and report — reads the tag without
importing matplotlib for plots it never draws (0.7 s of CPU a process, 2026-12-07).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from training.settings import TrainingSettings

PLAN_DEFAULTS_TAG = "plan_defaults"


def store_plan_defaults(
    settings: TrainingSettings, version: str, record: Mapping[str, Any]
) -> None:
    """Store the tuned plan settings with model ``version`` (one JSON tag, see module doc)."""
    from mlflow import MlflowClient

    client = MlflowClient(settings.tracking_uri)
    client.set_model_version_tag(
        settings.registered_model_name, str(version), PLAN_DEFAULTS_TAG, json.dumps(dict(record))
    )


def read_plan_defaults(tags: Mapping[str, str]) -> dict[str, Any] | None:
    """The tuned plan settings among a model version's tags, or None (also when unreadable)."""
    text = tags.get(PLAN_DEFAULTS_TAG)
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) and "settings" in record else None


__all__ = ["PLAN_DEFAULTS_TAG", "read_plan_defaults", "store_plan_defaults"]
