"""What may leave for the Prefect UI: URLs without their credentials and query strings.

Artifacts, run names and task messages are read by anyone with access to the Prefect UI;
feed URLs and error messages often carry tokens (`?key=...`, `user:password@`), so every
text from outside that goes there passes through `redact` first.
"""

from __future__ import annotations

import re

_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*)[?#][^\s'\")]*")


def redact(text: str) -> str:
    """`text` with every URL's user:password and query string masked (tokens often sit there)."""
    text = _CREDENTIALS.sub(r"\g<scheme>***@", text or "")
    return _QUERY.sub(r"\g<url>?***", text)
