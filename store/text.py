"""Make any text safe for every backend: PostgreSQL refuses NUL bytes and lone surrogates."""

from __future__ import annotations

import re

_BAD = re.compile(r"[\x00\ud800-\udfff]")


def clean_text(value: str | None, limit: int | None = None) -> str | None:
    """Drop NUL and lone surrogates; cut to `limit` characters."""
    if value is None:
        return None
    value = _BAD.sub("", value)
    return value[:limit] if limit else value
