"""The one exception a user can act on when configuration is wrong.

Every problem names the file, the line and the field, in the `file:line: field: problem`
form that editors and CI logs turn into links. Each also has a `rank` (lower is more
important, see RANKS) so a list of them can be shown most important first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field as dataclass_field

# What a problem blocks, most first: a file that cannot be read hides everything in it; a
# field of the wrong shape the rest of its entry; a reference across files or a missing
# secret a rule or channel; a query that does not parse its rule; an example only itself.
RANKS = {"file": 0, "schema": 1, "reference": 2, "secret": 3, "query": 4, "example": 5}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str
    rank: int = dataclass_field(default=RANKS["schema"], compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.field}: {self.message}"


def most_important_first(problems: Iterable[Problem]) -> list[Problem]:
    """Stable sort by rank: within a rank, problems keep their file and line order."""
    return sorted(problems, key=lambda problem: problem.rank)


class ConfigError(Exception):
    """One or more problems in the config directory; nothing has been run or written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
