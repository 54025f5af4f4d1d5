"""Argument types the benchmarks' command lines share."""

from __future__ import annotations

import argparse


def whole_numbers(text: str) -> list[int]:
    """``--seeds 101,102,103`` and the like as an ``argparse`` type: a comma-separated list of
    whole numbers, else a usage error naming what was given (exit 2, no traceback)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    wrong = [p for p in parts if not p.removeprefix("-").isdigit()]
    if not parts or wrong:
        shown = ", ".join(repr(p) for p in wrong) if wrong else "nothing"
        raise argparse.ArgumentTypeError(
            f"comma-separated whole numbers expected, got {shown} in {text!r}"
        )
    return [int(p) for p in parts]
