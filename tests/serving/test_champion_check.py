"""The app asks the model registry whether the champion changed in the background: a page never
waits for MLflow, and a new champion is loaded by the request after the check found it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from app_fixtures import AppHarness

from serving.app import engine
from serving.app.engine import EngineState, _ModelSlot


@dataclass
class _Loaded:
    version: str


def test_a_slow_registry_never_holds_a_page(
    trained_harness: AppHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state: EngineState = trained_harness.app.state.engine_state
    old = _Loaded("old")
    state._model = _ModelSlot(old, checked_at=-1e9)  # due for a check
    asked, answer = threading.Event(), threading.Event()
    unchanged = {"value": True}

    def slow_registry(self: Any, model: Any) -> bool:
        asked.set()
        assert answer.wait(timeout=60)
        return unchanged["value"]

    monkeypatch.setattr(EngineState, "_champion_unchanged", slow_registry)
    assert state.champion() is old  # served at once while the registry is asked
    assert asked.wait(timeout=10)
    assert state.champion() is old and state._model.checking
    unchanged["value"] = False  # the registry has a new champion
    answer.set()
    for _ in range(100):
        if not state._model.checking and state._model.model is None:
            break
        threading.Event().wait(0.05)
    assert state._model.model is None  # dropped: the next request loads the registry's one
    monkeypatch.setattr(engine, "MODEL_REFRESH_S", 1e9)
    assert state.champion() is not old
