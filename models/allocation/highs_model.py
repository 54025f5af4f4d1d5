"""The allocation MILP's container and its HiGHS instance: columns and rows gathered as blocks of
triplets and passed to HiGHS in one go (:class:`MilpModel`), the solver's fixed options, and a
first instance built without HiGHS's banner on stdout (:func:`new_highs`).

``highspy`` is imported where a model is solved, not at module level: it takes about half a
second to import, which every command and test that only reads a plan would otherwise pay."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class SolverOptions:
    """Fixed HiGHS options: one thread and a fixed seed make the plan reproducible."""

    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4
    random_seed: int = 0
    threads: int = 1


class MilpModel:
    """Columns and rows gathered as blocks of triplets, then passed to HiGHS in one go."""

    def __init__(self) -> None:
        self.n_cols = 0
        self.cost: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.integer: list[np.ndarray] = []
        self.rows_lower: list[float] = []
        self.rows_upper: list[float] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def columns(self, n: int, cost, lower, upper, integer: bool = False) -> np.ndarray:
        start = self.n_cols
        for block, value in ((self.cost, cost), (self.lower, lower), (self.upper, upper)):
            block.append(np.broadcast_to(np.asarray(value, float), (n,)))
        self.integer.append(np.full(n, integer))
        self.n_cols += n
        return np.arange(start, start + n)

    def row(self, cols, values, lower: float, upper: float) -> int:
        index = len(self.rows_lower)
        cols = np.asarray(cols, dtype=np.int64)
        values = np.broadcast_to(np.asarray(values, float), cols.shape)
        self.entries.append((np.full(len(cols), index), cols, values))
        self.rows_lower.append(lower)
        self.rows_upper.append(upper)
        return index

    def rows(
        self, lower: np.ndarray, upper: np.ndarray, row: np.ndarray, cols: np.ndarray, values
    ) -> np.ndarray:
        """Many rows at once: ``row`` numbers the entries' rows from 0 within the block."""
        first = len(self.rows_lower)
        self.entries.append((first + np.asarray(row, np.int64), np.asarray(cols, np.int64), values))
        self.rows_lower.extend(np.asarray(lower, float).tolist())
        self.rows_upper.extend(np.asarray(upper, float).tolist())
        return np.arange(first, len(self.rows_lower))

    def solve(
        self,
        options: SolverOptions,
        start: tuple[np.ndarray, np.ndarray] | None = None,
        offset: float = 0.0,
    ):
        highs = self.passed(options, offset)
        if start is not None:  # a feasible plan to start from: a time limit always has an answer
            highs.setSolution(len(start[0]), start[0].astype(np.int32), start[1].astype(float))
        highs.run()
        return highs

    def passed(self, options: SolverOptions, offset: float = 0.0):
        """A HiGHS instance holding this model, not yet solved (re-solves change it in place)."""
        import highspy

        inf = highspy.kHighsInf
        rows = np.concatenate([e[0] for e in self.entries]) if self.entries else np.zeros(0, int)
        cols = np.concatenate([e[1] for e in self.entries]) if self.entries else np.zeros(0, int)
        vals = np.concatenate([e[2] for e in self.entries]) if self.entries else np.zeros(0)
        n_col, n_row = self.n_cols, len(self.rows_lower)
        matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_row, n_col))
        matrix.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        # the curves' value at their start enters as the objective's constant, so HiGHS's
        # relative gap is relative to the whole expected weighted unmet need
        lp.offset_ = offset
        upper = np.concatenate(self.upper) if self.upper else np.zeros(0)
        lp.col_cost_ = np.concatenate(self.cost) if self.cost else np.zeros(0)
        lp.col_lower_ = np.concatenate(self.lower) if self.lower else np.zeros(0)
        lp.col_upper_ = np.where(np.isinf(upper), inf, upper)
        lp.row_lower_ = np.where(np.isinf(self.rows_lower), -inf, self.rows_lower)
        lp.row_upper_ = np.where(np.isinf(self.rows_upper), inf, self.rows_upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        integer = np.concatenate(self.integer) if self.integer else np.zeros(0, bool)
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                for i in integer.tolist()
            ]
        highs = new_highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("random_seed", options.random_seed)
        highs.setOptionValue("threads", options.threads)
        highs.setOptionValue("mip_rel_gap", options.mip_rel_gap)
        highs.setOptionValue("time_limit", float(options.time_limit_s))
        highs.passModel(lp)
        return highs


_banner_shown = False
_banner_lock = threading.Lock()


def new_highs():
    """A HiGHS instance; the first one in a process prints a copyright banner straight to file
    descriptor 1 (C code, before any option can silence it), which would land in the middle of
    a command's progress display or a CSV piped to stdout — so that one is built with fd 1
    pointed at /dev/null."""
    import highspy

    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    # solves run in threads (the plan beside its risk-neutral re-solve, then the comparisons
    # beside the marginal values): the first two must not both swap fd 1, or one would restore
    # the other's /dev/null, and none may build an instance before the first is built (it
    # would print the banner), so the flag is set only once the first instance exists
    with _banner_lock:
        if _banner_shown:
            return highspy.Highs()
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no usable stdout: nothing to protect
            _banner_shown = True
            return highspy.Highs()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            first = highspy.Highs()
            _banner_shown = True
            return first
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


def highs_inf() -> float:
    """HiGHS's infinity, for row bounds changed in place."""
    import highspy

    return float(highspy.kHighsInf)


def is_infeasible(highs) -> bool:
    """Whether HiGHS proved the model infeasible (or unbounded or infeasible)."""
    import highspy

    return highs.getModelStatus() in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    )
