"""Send one message to one destination through apprise, within a deadline.

One apprise object per destination, so one failing channel never causes a repeat on
another. The result is read for both apprise generations (2.x returns a status
object, 1.x a bool). A send that hangs is abandoned at its deadline and reported as a
failure; errors are scrubbed of every secret-looking part of the channel URL.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import apprise

from alerts.render import Message
from config.secrets import mask_url


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    error: str | None = None
    timed_out: bool = False


def preferred_format(url: str) -> str:
    """html for email, markdown for everything else that takes it."""
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return "markdown"
    formats = plugin.notify_format
    formats = formats if isinstance(formats, (tuple, list)) else (formats,)
    first = str(getattr(formats[0], "value", formats[0]))
    return "html" if first == "html" else "markdown"


def body_limit(url: str) -> int:
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return int(getattr(plugin, "body_maxlen", 32768) or 32768)


def channel_profile(url: str) -> tuple[str, int]:
    """(preferred body format, body limit) of the channel's apprise plugin."""
    return preferred_format(url), body_limit(url)


def send_message(url: str, message: Message, timeout: float) -> SendOutcome:
    """Deliver `message` to `url`; never raises, never waits past `timeout` seconds."""
    box: dict = {}
    worker = threading.Thread(target=_notify, args=(url, message, timeout, box), daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return SendOutcome(False, f"timeout: no answer within {timeout:g} s", timed_out=True)
    if "exception" in box:
        return SendOutcome(False, scrub(url, box["exception"]))
    if _succeeded(box.get("result")):
        return SendOutcome(True)
    return SendOutcome(False, scrub(url, box.get("logs") or "delivery failed"))


def _notify(url: str, message: Message, timeout: float, box: dict) -> None:
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            box["exception"] = f"not a valid apprise URL ({mask_url(url)})"
            return
        with apprise.LogCapture(level=logging.WARNING) as logs:
            box["result"] = sender.notify(
                body=message.body, title=message.title, body_format=message.body_format
            )
            box["logs"] = " ".join(logs.getvalue().split())[-500:]
    except Exception as exc:  # any plugin failure is a failed delivery, retried later
        box["exception"] = f"{type(exc).__name__}: {exc}"


def _succeeded(result) -> bool:
    """apprise 2.x AppriseResult and 1.x bool both answer bool() truthfully."""
    if result is None:
        return False
    status = getattr(result, "status", None)
    if status is not None:
        return getattr(status, "name", "") == "SUCCESS"
    return bool(result)


def scrub(url: str, text: str) -> str:
    """Remove the URL and every token-like piece of it from `text`."""
    text = text.replace(url, mask_url(url))
    for piece in sorted(set(re.split(r"[/:@?&=#,+]", url)), key=len, reverse=True):
        if len(piece) >= 6:
            text = text.replace(piece, "***")
    return text[:1000]
