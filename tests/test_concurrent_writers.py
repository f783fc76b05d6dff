"""Writers at the same moment, on SQLite and PostgreSQL: two outlets' copies of one story
saved by two runs at once still make one story and one alert."""

from __future__ import annotations

import random
import threading

from sqlmodel import Session, func, select

from extractors.models import Article
from store import open_database
from store.tables import Delivery, StoryMember
from tests.alerts_support import add_feeds, simple_match, store_article

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
