"""Alert delivery speed: 100 email alerts to a local SMTP server (aiosmtpd on 127.0.0.1).

Run: python bench/alerts.py [--count N]

apprise's email plugin waits 5.5 s between two messages sent through the same plugin
object; newswatch builds a fresh apprise object per message (which also keeps one
channel's failure from repeating another's delivery), so the throttle never applies.
This prints the time for N alerts through the real relay (render, send, record), and
for comparison the time of 2 messages through one shared apprise object.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apprise  # noqa: E402

from alerts import send_pending  # noqa: E402
from config.models import AlertSettings, ChannelConfig  # noqa: E402
from newswatch.demo.servers import SmtpServer  # noqa: E402
from tests.alerts_support import add_feeds, numbered_article, open_db, simple_match, store_article  # noqa: E402


def time_relay(count: int) -> tuple[float, int]:
    """Seconds to relay `count` email alerts, and how many the inbox received."""
    smtp = SmtpServer()
    try:
        with tempfile.TemporaryDirectory() as directory:
            engine = open_db(Path(directory))
            feed = add_feeds(engine, "Wire")["Wire"]
            for number in range(count):
                article = numbered_article(number)
                store_article(engine, feed, article, [simple_match("Missiles", article.text, "missile")], ["mail"])
            channels = {"mail": ChannelConfig(name="mail", url=smtp.apprise_url())}
            settings = replace(AlertSettings(), max_per_channel_per_run=count)
            started = time.perf_counter()
            send_pending(engine, channels, settings)
            elapsed = time.perf_counter() - started
            engine.dispose()
        return elapsed, len(smtp.inbox.messages)
    finally:
        smtp.close()


def time_shared_object() -> float:
    smtp = SmtpServer()
    try:
        sender = apprise.Apprise()
        sender.add(smtp.apprise_url())
        started = time.perf_counter()
        for number in range(2):
            sender.notify(title=f"t{number}", body="b")
        return time.perf_counter() - started
    finally:
        smtp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    elapsed, received = time_relay(args.count)
    print(f"{args.count} email alerts through the relay: {elapsed:.2f} s "
          f"({elapsed / args.count * 1000:.0f} ms each), {received} received")
    print(f"2 emails through one shared apprise object: {time_shared_object():.2f} s (the plugin's throttle)")


if __name__ == "__main__":
    main()
