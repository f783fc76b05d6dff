"""Send one message to one destination through apprise, within a deadline.

One apprise object per destination, so one failing channel never causes a repeat on
another. The result is read for both apprise generations (2.x returns a status
object, 1.x a bool). A send that hangs is abandoned at its deadline and reported as a
failure. The error text is this send's own apprise warnings (from the 2.x result, or
logged by the sending thread with 1.x; channels send in parallel), scrubbed of every secret-looking part of the channel URL; and
every record of the `apprise` and `urllib3` loggers, at any level, is scrubbed of every
channel URL this process has used, before any handler (console, Prefect) sees it.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from urllib.parse import quote, unquote

import apprise

from alerts.render import Message
from config.secrets import mask_url


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    error: str | None = None
    timed_out: bool = False


RAW_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")


def preferred_format(url: str) -> str:
    """html for email, plain text for raw webhooks (json://, form://, xml://: a script reads
    them, nothing renders markdown), markdown for everything else (chats render it)."""
    SCRUBBER.remember(url)
    if url.partition("://")[0].lower() in RAW_SCHEMES:
        return "text"
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return "markdown"
    formats = plugin.notify_format
    formats = formats if isinstance(formats, (tuple, list)) else (formats,)
    first = str(getattr(formats[0], "value", formats[0]))
    return "html" if first == "html" else "markdown"


def body_limit(url: str) -> int:
    SCRUBBER.remember(url)
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return int(getattr(plugin, "body_maxlen", 32768) or 32768)


EMAIL_SCHEMES = ("mailto", "mailtos")
EMAIL_PARALLEL_SENDS = 4


def parallel_sends(url: str) -> int:
    """How many messages a channel may send at once: a few for email (one SMTP connection
    each; servers accept several), one for chat services, which rate-limit bursts."""
    return EMAIL_PARALLEL_SENDS if url.partition("://")[0].lower() in EMAIL_SCHEMES else 1


def channel_profile(url: str) -> tuple[str, int]:
    """(preferred body format, body limit) of the channel's apprise plugin."""
    return preferred_format(url), body_limit(url)


class SecretScrubber(logging.Filter):
    """Rewrites each apprise log record with every known channel URL's secrets masked."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: set[str] = set()
        self.lock = threading.Lock()

    def remember(self, url: str) -> None:
        with self.lock:
            self.urls.add(url)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        with self.lock:
            urls = sorted(self.urls)
        for url in urls:
            text = scrub_text(url, text)
        record.msg, record.args = text, ()
        return True


SCRUBBER = SecretScrubber()
# filters act only on the logger a record is created on, so each emitting logger gets one
SCRUBBED_LOGGERS = ("apprise", "urllib3", "urllib3.connectionpool", "urllib3.util.retry", "requests")
for _name in SCRUBBED_LOGGERS:
    logging.getLogger(_name).addFilter(SCRUBBER)


class ThreadLogs(logging.Handler):
    """Collects the warnings logged by this thread (apprise 1.x; channels send at the same time)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


def send_message(url: str, message: Message, timeout: float) -> SendOutcome:
    """Deliver `message` to `url`; never raises, never waits past `timeout` seconds."""
    SCRUBBER.remember(url)
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
    logger, logs = logging.getLogger("apprise"), ThreadLogs()
    logger.addHandler(logs)
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            box["exception"] = f"not a valid apprise URL ({mask_url(url)}): " + " ".join(logs.lines)
            return
        box["result"] = sender.notify(body=message.body, title=message.title, body_format=message.body_format)
        box["logs"] = " ".join(" ".join(result_logs(box["result"]) or logs.lines).split())[-500:]
    except Exception as exc:  # any plugin failure is a failed delivery, retried later
        box["exception"] = f"{type(exc).__name__}: {exc}"
    finally:
        logger.removeHandler(logs)


def result_logs(result) -> list[str]:
    """apprise 2.x keeps each send's own warnings in its result; 1.x has none (we capture them)."""
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return []
    return [entry.message for entry in logs() if getattr(entry, "level", "WARNING") in ("WARNING", "ERROR",
                                                                                         "CRITICAL")]


def _succeeded(result) -> bool:
    """apprise 2.x AppriseResult and 1.x bool both answer bool() truthfully."""
    if result is None:
        return False
    status = getattr(result, "status", None)
    if status is not None:
        return getattr(status, "name", "") == "SUCCESS"
    return bool(result)


def scrub(url: str, text: str) -> str:
    """Remove the URL and every token-like piece of it from `text`; at most 1000 characters."""
    return scrub_text(url, text)[:1000]


def scrub_text(url: str, text: str) -> str:
    """`text` with the URL masked and every piece of it of 6+ characters (as written,
    percent-encoded or decoded) replaced by ***. Only the scheme survives."""
    text = text.replace(url, mask_url(url))
    pieces = set(re.split(r"[/:@?&=#,+;]", url.partition("://")[2]))
    variants = {form for piece in pieces for form in (piece, quote(piece, safe=""), unquote(piece))}
    for piece in sorted(variants, key=len, reverse=True):
        if len(piece) >= 6:
            text = text.replace(piece, "***")
    return text
