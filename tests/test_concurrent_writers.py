"""Writers at the same moment, on SQLite and PostgreSQL: two outlets' copies of one story
saved by two runs at once still make one story and one alert, and two whole passes
started at the same instant store and send exactly what one pass would."""

from __future__ import annotations

import json
import random
import subprocess
import threading
from collections import Counter

from sqlmodel import Session, func, select

from extractors.models import Article
from store import open_database
from store.tables import Delivery, StoryMember
from tests.alerts_support import add_feeds, simple_match, store_article
from tests.crash_support import Workload, received_alerts, start_pass, stored_hit_urls

WORDS = ("missile launch artillery shells border ministry officials said port cargo ship envoy sanctions "
         "talks summit embassy navy drills satellite images factory plant rail convoy treaty pledge").split()


def story_text(seed: int) -> str:
    rng = random.Random(seed)
    return f"Missile report {seed}. " + " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(150))


def test_two_runs_saving_copies_of_one_story_at_once_alert_it_once(database_url):
    engines = [open_database(database_url) for _ in range(2)]
    feeds = add_feeds(engines[0], "Wire One", "Korea Daily")
    rounds = 8
    for story in range(rounds):
        text = story_text(story)
        copies = [Article(url=f"https://{feed.replace(' ', '').lower()}.example.org/{story}", title=f"Story {story}",
                          text=text + (" Copyright Korea Daily." if n else "")) for n, feed in enumerate(feeds)]
        start = threading.Barrier(2)

        def save(engine, feed, article):
            start.wait()
            store_article(engine, feeds[feed], article, [simple_match("Missiles", article.text, "Missile")], ["hook"])

        threads = [threading.Thread(target=save, args=(engine, feed, article))
                   for engine, feed, article in zip(engines, feeds, copies)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    with Session(engines[0]) as session:
        stories = session.exec(select(func.count(func.distinct(StoryMember.story_id)))).one()
        deliveries = session.exec(select(func.count()).select_from(Delivery)).one()
    assert (stories, deliveries) == (rounds, rounds)
    for engine in engines:
        engine.dispose()


def test_two_passes_started_at_the_same_moment_store_and_send_what_one_pass_would(database_url, site, webhook,
                                                                                  smtp, tmp_path):
    """Two `run_pass` processes released at the same instant on one database: every hit
    stored once, every alert sent once on each channel, as a single pass would."""
    workload = Workload(site, 48)
    workload.reveal(48)
    config_dir = workload.config_dir(tmp_path / "c", database_url, webhook, smtp)
    go = tmp_path / "go"
    passes = [start_pass(config_dir, go, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for process in passes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    go.touch()
    outputs = [process.communicate(timeout=300) for process in passes]
    assert [process.returncode for process in passes] == [0, 0], [err[-3000:] for _, err in outputs]
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(summary["new_articles"] for summary in summaries) == 48, summaries
    assert sorted(stored_hit_urls(database_url)) == sorted(workload.expected_hit_urls())
    assert Counter(received_alerts(webhook, smtp)) == workload.expected_alerts()
    assert sum(summary["alerts_sent"] for summary in summaries) == sum(workload.expected_alerts().values())
