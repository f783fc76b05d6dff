"""`${ENV_VAR}` placeholders in channel URLs, and masking of those URLs for display.

Secrets live in the environment, never in YAML; everything that shows a channel URL
(logs, errors, artifacts, the database) shows `mask_url(url)` instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_placeholders(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Replace each `${NAME}` by its environment value; return (text, names that are unset)."""
    environ = os.environ if environ is None else environ
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            missing.append(name)
            return match.group(0)
        return environ[name]

    return PLACEHOLDER.sub(substitute, text), missing


def mask_url(url: str) -> str:
    """Keep only the scheme, e.g. `slack://***`.

    Apprise URLs carry tokens in every part, host included (`slack://TOKEN_A/...`),
    so nothing but the scheme is safe to show.
    """
    scheme, sep, _ = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,20}", scheme):
        return "***"
    return f"{scheme}://***"
