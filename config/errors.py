"""The one exception a user can act on when configuration is wrong.

Every problem names the file, the line and the field, in the `file:line: field: problem`
form that editors and CI logs turn into links.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.field}: {self.message}"


class ConfigError(Exception):
    """One or more problems in the config directory; nothing has been run or written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
