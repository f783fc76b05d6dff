"""A monitor workload whose answer is known in advance, for the overlapping-runs test and
the crash harness: feeds on a local site, article pages, a webhook and an SMTP inbox.

Item k sits in feed k % FEEDS. Two in three items mention "missiles ... shells" and hit
the rule `arms`; every 12th item (k % 12 == 5) is another outlet's copy of item k - 1
(same title and text), so it is stored and hits but does not alert again. The oracle:
every hitting item's URL has a hit; every hitting original arrives exactly once on each
channel, under its title "Item k".
"""

from __future__ import annotations

import os
import random
import re
import select
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from store import list_hits, open_database
from tests.conftest import REPO, rss, write_config

FEEDS = 4
RULES = "rules:\n  - name: arms\n    query: missile* AND shells\n"
VOCAB = ("border ministry officials port cargo envoy talks summit embassy navy drills satellite factory rail "
         "convoy treaty pledge harvest market council river bridge census budget court school energy").split()
TITLE = re.compile(r"Item (\d+)\s*$")


@dataclass(frozen=True)
class Item:
    number: int
    feed: int
    title: str
    text: str
    hits: bool
    copy_of: int | None = None


def make_items(count: int) -> list[Item]:
    items: list[Item] = []
    for number in range(count):
        if number % 12 == 5:
            original = items[number - 1]
            items.append(Item(number, number % FEEDS, original.title, original.text, original.hits, original.number))
            continue
        rng, hits = random.Random(number), number % 3 != 2
        words = [f"{rng.choice(VOCAB)}{rng.randrange(100)}" for _ in range(120)]
        lead = "Officials said missiles and artillery shells were shipped." if hits else "Officials said grain went."
        items.append(Item(number, number % FEEDS, f"Item {number}", f"{lead} {' '.join(words)}", hits))
    return items


def page(item: Item) -> str:
    words = item.text.split()
    paragraphs = "".join(f"<p>{' '.join(words[i:i + 40])}.</p>" for i in range(0, len(words), 40))
    return f"<html><body><article><h1>{item.title}</h1>{paragraphs}</article></body></html>"


class Workload:
    """The items' pages on `site`; `reveal(n)` makes the feeds list the first n items."""

    def __init__(self, site, count: int):
        self.site, self.items = site, make_items(count)
        self.links = {item.number: site.add(f"/item/{item.number}.html", page(item)) for item in self.items}
        self.reveal(0)

    def reveal(self, count: int) -> None:
        for feed in range(FEEDS):
            listed = [{"title": item.title, "link": self.links[item.number]} for item in self.items[:count]
                      if item.feed == feed]
            self.site.add(f"/feed{feed}.xml", rss(listed), content_type="application/rss+xml")

    def config_dir(self, directory: Path, database_url: str, webhook, smtp) -> Path:
        return write_config(directory, database_url=database_url, rules=RULES,
                            feeds=[{"url": self.site.url(f"/feed{f}.xml"), "name": f"Feed {f}"} for f in range(FEEDS)],
                            channels={"hook": {"url": webhook.apprise_url()}, "mail": {"url": smtp.apprise_url()}},
                            settings={"alerts": {"max_per_channel_per_run": 100000}})

    def expected_hit_urls(self, count: int | None = None) -> set[str]:
        return {self.links[item.number] for item in self.items[:count] if item.hits}

    def expected_alerts(self, count: int | None = None) -> Counter:
        return Counter((channel, item.number) for item in self.items[:count] if item.hits and item.copy_of is None
                       for channel in ("hook", "mail"))


def received_alerts(webhook, smtp) -> list[tuple[str, int]]:
    """(channel, item number) of every message the receivers accepted, in arrival order per channel."""
    hook = [("hook", int(TITLE.search(message["title"]).group(1))) for message in list(webhook.received)]
    mail = [("mail", int(TITLE.search(str(message["subject"])).group(1))) for message in list(smtp.inbox.messages)]
    return hook + mail


def stored_hit_urls(database_url: str) -> list[str]:
    engine = open_database(database_url)
    try:
        return [hit.url for hit in list_hits(engine)]
    finally:
        engine.dispose()


def start_pass(config_dir: Path, go_file: Path | None = None, **popen) -> subprocess.Popen:
    """`tests/pass_runner.py` in a new session (its extraction workers share its process group)."""
    args = [sys.executable, "-m", "tests.pass_runner", str(config_dir)] + ([str(go_file)] if go_file else [])
    return subprocess.Popen(args, cwd=REPO, start_new_session=True, text=True, **popen)


class ForkServer:
    """`tests/pass_runner.py --serve`: passes forked from one warm process, each killable."""

    def __init__(self, stderr):
        self.process = subprocess.Popen([sys.executable, "-m", "tests.pass_runner", "--serve"], cwd=REPO,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                        start_new_session=True)

    def start(self, config_dir: Path) -> int:
        self.process.stdin.write(f"run {config_dir}\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline().split()
        assert line[:1] == ["started"], f"fork server said {line}"
        return int(line[1])

    def wait(self, timeout: float | None = None) -> int | None:
        """The pass's exit code, or None if it is still running after `timeout` seconds."""
        if timeout is not None and not select.select([self.process.stdout], [], [], timeout)[0]:
            return None
        line = self.process.stdout.readline().split()
        assert line[:1] == ["ended"], f"fork server said {line}"
        return int(line[2])

    def kill(self, pid: int) -> None:
        """SIGKILL to the pass and its extraction workers (its process group), as a crash would."""
        os.killpg(pid, signal.SIGKILL)
        self.wait()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
