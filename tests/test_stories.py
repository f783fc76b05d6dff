"""Story grouping: syndicated copies of one article form one story; a rule alerts it once.

The copies are built the way syndication makes them (other boilerplate, a changed
sentence, a cut) from the bundled seed article and from the shared benchmark texts.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from alerts import send_pending
from bench.stories import change_sentence, load_bodies, make_copies, truncate, with_boilerplate
from extractors.models import FeedEntry
from store import ArticleToSave, list_hits, save_article_groups
from store.similarity import StorySketch, band_keys, is_same_story, sketch_text
from store.tables import Article
from tests.alerts_support import (add_feeds, channel, match_article, numbered_article, open_db, seed_article, settings,
                                  store_article)
from tests.conftest import shared_path

FEEDS = ("Wire One", "Korea Daily", "Asia Post", "World Desk", "Evening Star")
OTHER = ("Temperatures in Seoul fell below freezing on Tuesday morning as a cold front moved across the "
         "peninsula. Forecasters expect snow in the mountainous east of the country by Thursday.")


def seed_copies() -> list:
    """Five near-identical copies of the seed article, as five outlets would run it."""
    article, rng = seed_article(), random.Random(3)
    texts = [
        article.text,
        with_boilerplate(article.text, 0),
        with_boilerplate(article.text, 1),
        change_sentence(article.text, rng, OTHER),
        with_boilerplate(truncate(article.text, 0.7), 2),
    ]
    return [replace(article, url=f"https://{feed.lower().replace(' ', '')}.example.org/dprk", text=text)
            for feed, text in zip(FEEDS, texts)]


def test_five_copies_from_five_feeds_alert_once_per_rule_and_channel_listing_the_others(tmp_path, smtp, webhook):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, *FEEDS)
    channels = {"mail": channel("mail", smtp.apprise_url()), "hook": channel("hook", webhook.apprise_url())}
    rules = set()
    for feed, article in zip(FEEDS, seed_copies()):
        matches = match_article(article)
        rules |= {m.rule for m in matches}
        store_article(engine, feeds[feed], article, matches, channels)
    assert "DPRK arms transfer" in rules

    report = send_pending(engine, channels, settings())
    assert report.sent == 2 * len(rules)
    assert len(smtp.inbox.messages) == len(rules) and len(webhook.received) == len(rules)
    for message in smtp.inbox.messages:
        text = message.get_body(("plain",)).get_content()
        assert "Also reported by" in text
        assert sum(feed in text for feed in FEEDS[1:]) == 4, text
    posted = webhook.received[0]["message"]
    assert all(feed in posted for feed in FEEDS[1:])

    hits = [hit.to_json() for hit in list_hits(engine)]
    assert len(hits) == 5 * len(rules)  # every copy is in the history...
    assert len({hit["story"] for hit in hits}) == 1  # ...as one story
    first = next(h for h in hits if h["feed"] == FEEDS[0] and h["rule"] == "DPRK arms transfer")
    assert sorted(c["feed"] for c in first["also_reported_by"]) == sorted(FEEDS[1:])
    assert json.dumps(hits)  # the JSON contract still serialises
    assert {"rule", "url", "title", "feed", "published", "found_at", "terms", "snippet"} <= set(first)
    assert sorted(set(first["deliveries"].values())) == ["sent"]


def test_a_copy_in_a_later_run_adds_to_the_history_not_a_new_alert(tmp_path, webhook):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, *FEEDS[:2])
    channels = {"hook": channel("hook", webhook.apprise_url())}
    first, later = seed_copies()[:2]
    store_article(engine, feeds[FEEDS[0]], first, match_article(first), channels)
    sent = send_pending(engine, channels, settings()).sent
    saved = store_article(engine, feeds[FEEDS[1]], later, match_article(later), channels)
    assert saved.deliveries == 0 and len(saved.copy_hit_ids) == sent
    assert send_pending(engine, channels, settings()).sent == 0
    assert len(webhook.received) == sent
    newest = list_hits(engine, limit=1)[0]
    assert newest.feed == FEEDS[1] and [c.feed for c in newest.also_reported_by] == [FEEDS[0]]


@pytest.mark.parametrize("variable_limit", [None, 999], ids=["sqlite-default", "sqlite-built-with-999"])
def test_copies_saved_in_one_batch_are_one_story_alerting_once(tmp_path, webhook, variable_limit):
    """A pass saves 50 articles at a time: copies in the same batch find each other (the
    index is written at the end of the batch), and a link listed twice in a batch is
    stored once, with no half claim left for its second feed's key. The batch's band
    lookups fit an SQLite built with a limit of 999 parameters a statement."""
    from sqlalchemy import event, text

    engine = open_db(tmp_path)
    if variable_limit:
        engine.dispose()
        event.listen(engine, "connect", lambda connection, _record: connection.setlimit(
            sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variable_limit))
    feeds = add_feeds(engine, *FEEDS)
    channels = {"hook": channel("hook", webhook.apprise_url())}
    now = datetime.now(timezone.utc)

    def item(feed: str, article, key: str | None = None) -> ArticleToSave:
        entry = FeedEntry(entry_key=key or article.url, link=article.url, title=article.title, summary="",
                          published=now)
        return ArticleToSave(entry=entry, article=article, matches=tuple(match_article(article)))

    copies = seed_copies()
    other = replace(copies[0], url="https://two.example.org/weather", title="Cold", text=OTHER * 5)
    groups = [(feeds[feed], [item(feed, copy)]) for feed, copy in zip(FEEDS, copies)]
    groups[1][1].append(item(FEEDS[1], other))
    groups[3][1].extend(item(FEEDS[3], numbered_article(n, rule_word="weather")) for n in range(10))
    groups[2][1].append(item(FEEDS[2], copies[0], key="another-guid"))  # the first copy's link again
    saved = save_article_groups(engine, groups, channels_for_rule=lambda rule: tuple(channels))

    rules = {m.rule for m in match_article(copies[0])}
    assert [len(batch.article_ids) for batch in saved] == [1, 2, 1, 11, 1]
    assert saved[2].already_stored == 1
    assert sum(batch.deliveries for batch in saved) == len(rules)
    assert send_pending(engine, channels, settings()).sent == len(rules) == len(webhook.received)
    stories = {hit["story"] for hit in map(lambda h: h.to_json(), list_hits(engine)) if hit["title"] != "Cold"}
    assert len(stories) == 1 and len(list_hits(engine)) == 5 * len(rules)
    with engine.connect() as connection:
        assert f"feed:{feeds[FEEDS[2]]}:another-guid" not in set(connection.execute(
            text("SELECT key FROM seenentry")).scalars())
        # the band rows, written through the driver: 64 integer keys for each of the 16 articles
        assert connection.execute(text("SELECT count(*) FROM storyband")).scalar() == 64 * 16
        assert connection.execute(text("SELECT count(DISTINCT article_id) FROM storyband")).scalar() == 16


def test_different_articles_are_different_stories(tmp_path):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, "One", "Two")
    seed = seed_article()
    other = replace(seed, url="https://two.example.org/weather", title="Cold", text=OTHER * 5)
    store_article(engine, feeds["One"], seed, [], [])
    store_article(engine, feeds["Two"], other, [], [])
    hits = list_hits(engine)
    assert hits == []  # no matches stored, but the stories exist
    a, b = sketch_text(seed.text), sketch_text(other.text)
    assert not is_same_story(a, b) and not set(band_keys(a)) & set(band_keys(b))


def test_short_texts_are_never_grouped():
    assert sketch_text("North Korea fires missiles") is None


def test_threshold_separates_copies_from_other_articles_on_the_shared_texts():
    shared_path("data", "article-extraction-benchmark", "ground-truth.json")
    bodies, rng = load_bodies(60), random.Random(11)
    found = total = 0
    for index, body in enumerate(bodies):
        original = sketch_text(with_boilerplate(body, 0))
        for kind, copy in make_copies(body, rng, bodies[(index + 1) % len(bodies)]).items():
            sketch = sketch_text(copy)
            if kind.startswith("truncated 30") or sketch is None:
                continue
            total += 1
            found += bool(set(band_keys(original)) & set(band_keys(sketch))) and is_same_story(original, sketch)
    assert found / total >= 0.95, f"recall {found}/{total}"
    sketches = [sketch_text(body) for body in bodies]
    false = sum(is_same_story(a, b) for i, a in enumerate(sketches) for b in sketches[i + 1:] if a and b)
    assert false == 0


def test_sketches_are_datasketch_minhash_value_for_value():
    """Signatures stored by earlier passes must stay comparable with new ones: the vectorised
    sketch equals datasketch's own MinHash (affine32 scheme, the one stored so far)."""
    import numpy as np
    from datasketch import MinHash

    from store.similarity import NUM_PERM, SEED, shingle_set

    texts = [seed_article().text, OTHER * 3] + [copy.text for copy in seed_copies()]
    for text in texts:
        shingles = shingle_set(text)
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32")
        reference.update_batch([s.encode("utf-8") for s in shingles])
        sketch = sketch_text(text)
        assert sketch is not None and sketch.size == len(shingles)
        assert np.array_equal(sketch.values(), reference.hashvalues.astype(np.uint32))


def story_of(engine, url: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT m.story_id FROM storymember m JOIN article a ON a.id = m.article_id "
                                       "WHERE a.url = :url"), {"url": url}).scalar_one()


def band_rows(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM storyband")).scalar_one()


def test_a_copy_after_the_story_window_starts_a_new_story_and_old_bands_are_dropped(tmp_path):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, *FEEDS[:2])
    first, later = seed_copies()[:2]
    store_article(engine, feeds[FEEDS[0]], first, (), {})
    with engine.begin() as connection:  # filed eight days ago: outside the seven-day window
        connection.execute(text("UPDATE storymember SET created_at = :at"),
                           {"at": datetime.now(timezone.utc) - timedelta(days=8)})
    store_article(engine, feeds[FEEDS[1]], later, (), {})
    assert story_of(engine, later.url) != story_of(engine, first.url)
    assert band_rows(engine) == 64  # the later copy's only: the old article's were pruned with its window


def test_old_imported_copies_in_separate_batches_are_one_story_filed_under_fewer_bands(tmp_path):
    """An import's old news is filed under every 8th band; its copies, probing all 64, still find it."""
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, *FEEDS[:3])
    year_ago = datetime.now(timezone.utc) - timedelta(days=365)
    copies = seed_copies()

    def imported(article, published) -> ArticleToSave:
        entry = FeedEntry(entry_key=article.url, link=article.url, title=article.title, summary="",
                          published=published)
        sketch = StorySketch(sketch_text(f"{article.title}\n{article.text}"))
        return ArticleToSave(entry=entry, article=article, imported=True, alert=False, sketch=sketch)

    for feed, copy in zip(FEEDS[:2], copies[:2]):  # two transactions, as two batches of an import
        save_article_groups(engine, [(feeds[feed], [imported(copy, year_ago)])], channels_for_rule=lambda _: ())
    assert story_of(engine, copies[1].url) == story_of(engine, copies[0].url)
    assert band_rows(engine) == 2 * 8
    save_article_groups(engine, [(feeds[FEEDS[2]], [imported(copies[2], datetime.now(timezone.utc))])],
                        channels_for_rule=lambda _: ())
    assert story_of(engine, copies[2].url) == story_of(engine, copies[0].url)
    assert band_rows(engine) == 2 * 8 + 64  # recent news: every band, so the next pass's copies find it


def test_old_news_recurring_more_often_than_a_band_is_read_stays_one_story_with_the_recent_copy(database_url):
    """An import's old news looks under its sparse bands only, and at the oldest
    MAX_PER_BAND articles of each: a text recurring far more often than that, over many
    batches, still joins the story of a recent copy filed before it (through the sparse
    bands it shares with the recent copy's 64), and a later recent copy joins it too."""
    from store import open_database
    from store.stories import MAX_PER_BAND

    engine = open_database(database_url)
    feeds = add_feeds(engine, *FEEDS)
    now = datetime.now(timezone.utc)
    copies = seed_copies()

    def imported(article, published, number: int) -> ArticleToSave:
        article = replace(article, url=f"{article.url}/{number}")
        entry = FeedEntry(entry_key=article.url, link=article.url, title=article.title, summary="",
                          published=published)
        sketch = StorySketch(sketch_text(f"{article.title}\n{article.text}"))
        return ArticleToSave(entry=entry, article=article, imported=True, alert=False, sketch=sketch)

    def save(items) -> None:
        save_article_groups(engine, [(feeds[FEEDS[0]], items)], channels_for_rule=lambda _: ())

    save([imported(copies[1], now - timedelta(days=1), 0)])  # recent: filed under all 64 bands
    old = 2 * MAX_PER_BAND + 5
    for start in range(1, old + 1, 10):  # verbatim old copies, 10 a batch, as an import of a year
        save([imported(copies[0], now - timedelta(days=30 + number), number) for number in range(start, start + 10)])
    other = replace(copies[0], url="https://two.example.org/weather", title="Cold", text=OTHER * 5)
    save([imported(other, now - timedelta(days=40), 0), imported(copies[2], now, 999)])

    with engine.connect() as connection:
        stories = dict(connection.execute(text("SELECT a.url, m.story_id FROM storymember m "
                                               "JOIN article a ON a.id = m.article_id")).all())
        bands = connection.execute(text("SELECT count(*) FROM storyband")).scalar_one()
    engine.dispose()
    first = stories[f"{copies[1].url}/0"]
    assert [url for url, story in stories.items() if story != first] == ["https://two.example.org/weather/0"]
    assert len(stories) == 1 + (old // 10 + 1) * 10 + 2
    assert bands == 64 + 8 * ((old // 10 + 1) * 10 + 1) + 64  # old news under 8 bands, recent under 64


def test_article_text_is_stored_packed_and_reads_back_as_it_was(tmp_path):
    engine = open_db(tmp_path)
    feeds = add_feeds(engine, FEEDS[0])
    article = seed_copies()[0]
    store_article(engine, feeds[FEEDS[0]], article, (), {})
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT text FROM article")).scalar_one()
    assert isinstance(stored, bytes) and len(stored) < len(article.text.encode()) / 2
    with Session(engine) as session:
        assert session.exec(select(Article.text)).one() == article.text
