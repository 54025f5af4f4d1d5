"""Debian's Chromium for the browser tests: where it is, how it is started headless in a
container, and where screenshots are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
#: No sandbox (root in a container), no GPU, nothing fetched from the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> Path:
    """Chromium's path; skips the test where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's Chromium is not installed (apt-get install -y chromium; .ci/run does)"
        )
    return CHROMIUM
