"""Problems with a user's input, collected and reported all at once.

Every check in the engine appends :class:`Problem` rows instead of raising on the first one, so a
user sees the whole list; the command line prints them and exits with code 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (file, row as the user counts it, column), which rule, what value."""

    file: str
    rule: str
    row: int | None = None
    column: str | None = None
    value: object = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        value = "" if self.value is None else f" (found {self.value!r})"
        return f"{self.severity}: {where}: {self.rule}{value}"


class UserInputError(Exception):
    """Bad input from a user: reported without a traceback, exit code 2."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class DataContractError(UserInputError):
    """The data set breaks the contract; ``problems`` lists every broken rule."""

    def __init__(self, problems: list[Problem]) -> None:
        n_err = sum(p.severity == "error" for p in problems)
        super().__init__(f"{n_err} problem(s) with the data", problems)
