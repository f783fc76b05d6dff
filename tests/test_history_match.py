"""Stored articles matched batch by batch, in a pool of worker processes: the same answer,
in the same order, as one process gives; progress is told as batches finish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from config.models import AliasGroup, RuleConfig
from flows.history_match import MatchJob, match_history
from store import database
from store.tables import Article, Feed, utcnow

TEXTS = [
    "Pyongyang said the missile test was a success.",
    "Gas prices rose in Europe as sanctions bit.",
    "The football season opened with a derby.",
    "North Korea fired two missiles into the sea, Seoul said.",
    "Sanctions on oil exports were extended by a year.",
]
RULES = (
    RuleConfig(name="korea", query="@dprk AND missile*", content_hash="h1"),
    RuleConfig(name="sanctions", query="sanction* AND (gas OR oil)", content_hash="h2"),
    RuleConfig(name="sport", query="football", content_hash="h3", tags=("sport",)),
)
ALIASES = {"dprk": AliasGroup("dprk", ("Pyongyang", "North Korea*"))}


@pytest.fixture
def engine(database_url):
    with database(database_url) as opened:
        with Session(opened) as session:
            feeds = [Feed(url="https://news.example/rss", name="news"),
                     Feed(url="https://sport.example/rss", name="sport")]
            session.add_all(feeds)
            session.flush()
            for number in range(90):
                session.add(Article(feed_id=feeds[number % 2].id, entry_key=f"k{number}",
                                    url=f"https://news.example/{number}", title=f"Story {number}",
                                    text=TEXTS[number % len(TEXTS)], published=utcnow() - timedelta(days=number)))
            session.commit()
        yield opened


def answers(results) -> list[tuple[int, list[tuple]]]:
    return [(article_id, [(m.rule, m.terms, m.snippet) for m in matches]) for article_id, matches in results]


def test_a_pool_of_workers_gives_the_answer_of_one_process_in_order(engine, tmp_path) -> None:
    job = MatchJob(RULES, ALIASES, {"https://sport.example/rss": ("sport",)}, str(tmp_path / "cache"))
    alone = answers(match_history(engine, job, workers=1))
    told = []
    pooled = answers(match_history(engine, job, workers=2, pool_min=0, batch=7,
                                   progress=lambda done, total: told.append((done, total))))
    assert pooled == alone
    assert [article_id for article_id, _ in alone] == sorted(article_id for article_id, _ in alone)
    assert len(alone) == 90
    hits = {rule for _, found in alone for rule, _, _ in found}
    assert hits == {"korea", "sanctions", "sport"}
    assert [done for done, _ in told] == sorted({*range(7, 90, 7), 90})
    assert {total for _, total in told} == {90}


def test_since_limits_the_articles_and_the_total(engine) -> None:
    job = MatchJob(RULES, ALIASES)
    told = []
    found = list(match_history(engine, job, since=utcnow() - timedelta(days=10, hours=1),
                               progress=lambda done, total: told.append((done, total))))
    assert len(found) == 11
    assert told[-1] == (11, 11)
