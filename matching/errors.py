"""The one failure of the matching stage: a watch rule that cannot be compiled.

`QueryError` names the rule, says what is wrong and how to fix it, and points at the
1-based `column` of the query string (`caret_line()` draws it). `QueryErrors` is what
`compile_rules` raises when several rules (or several places) are wrong at once; it is
a `QueryError` too, so `except QueryError` catches both.
"""

from __future__ import annotations

from config.models import Source


class QueryError(Exception):
    """One problem in one rule's query."""

    def __init__(self, rule: str, message: str, column: int, query: str = "", source: Source | None = None):
        self.rule = rule
        self.message = message
        self.column = column
        self.query = query
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}rule {self.rule!r}, column {self.column}: {self.message}"

    def caret_line(self) -> str:
        """The query line holding the column, and a line with '^' under the column."""
        start = self.query.rfind("\n", 0, max(self.column - 1, 0)) + 1
        end = self.query.find("\n", start)
        line = self.query[start:] if end == -1 else self.query[start:end]
        return f"{line}\n{' ' * (self.column - 1 - start)}^"


class QueryErrors(QueryError):
    """Several query problems, reported together; `errors` lists them in rule order."""

    def __init__(self, errors: list[QueryError]):
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.rule, first.message, first.column, first.query, first.source)

    def __str__(self) -> str:
        lines = [f"{len(self.errors)} problems in watch rules:"]
        lines.extend(f"  {error}" for error in self.errors)
        return "\n".join(lines)
