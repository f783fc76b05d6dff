"""Scale out: shard k of N polls only the feeds whose URL hashes to k, and N shards run one
after another store exactly the hits and send exactly the alerts that one run would.
Runs on SQLite, and on PostgreSQL where `database_url` provides one."""

from __future__ import annotations

from collections import Counter
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from config import load_config
from flows.run_pass import Shard, run_pass, shard_of
from store import delivery_counts, list_hits, open_database
from tests.conftest import rss, write_config

SHARDS = 3
ARTICLE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>
<p>{lead}</p><p>{more}</p></article></body></html>"""
# distinct stories (near-duplicates would be grouped into one story and alerted once)
LEADS = [
    ("North Korea has provided Russia with more than 1,000 containers of munitions since August, officials "
     "in Seoul said, citing satellite imagery of rail cars near Tumangang.",
     "Analysts in Tokyo expect further rail convoys before the river freezes."),
    ("Pyongyang shipped ballistic missiles to a Russian port on the Pacific coast last spring, according to "
     "a confidential United Nations panel report seen by reporters.",
     "The panel traced serial numbers on debris recovered near Kharkiv."),
    ("A cargo vessel linked to North Korea delivered artillery shells to Vostochny, a maritime tracking "
     "firm reported on Friday after studying transponder gaps.",
     "Insurance registries list the ship under a flag of convenience."),
    ("Ukrainian investigators say rockets supplied by the DPRK failed at unusual rates, pointing to poor "
     "quality control at factories around Hamhung.",
     "Engineers photographed corroded casings at a depot outside Zaporizhzhia."),
    ("The European Union sanctioned three trading houses accused of arranging weapon deals between North "
     "Korea and Moscow through shell companies registered in Hong Kong.",
     "Brussels froze accounts holding roughly eleven million euros."),
    ("Satellite photographs show launchers being loaded onto trains at Rason, suggesting North Korea keeps "
     "transferring arms across its short border with Russia.",
     "Commercial imagery providers released the pictures on Wednesday morning."),
    ("South Korean lawmakers were briefed that Pyongyang sold anti-tank weapons to Russian forces in "
     "exchange for oil, food and space technology.",
     "The intelligence service gave the figures in a closed parliamentary session."),
]
WEATHER = """<!doctype html><html lang="en"><head><title>Cold week ahead {n}</title></head><body><article>
<h1>Cold week ahead {n}</h1><p>Temperatures in Seoul fell below freezing on Tuesday morning as a cold front
moved across the peninsula, and forecasters expect snow in the mountainous east by Thursday.</p>
<p>Residents were advised to check heating systems and take care on icy roads this week.</p></article></body></html>"""


def test_shard_of_is_stable_and_spreads_feeds():
    urls = [f"https://feeds.example/{i}.xml" for i in range(300)]
    assert [shard_of(url, 3) for url in urls] == [shard_of(url, 3) for url in urls]
    assert min(Counter(shard_of(url, 3) for url in urls).values()) > 70
    assert all(Shard(0, 1).owns(url) for url in urls)
    with pytest.raises(ValueError):
        Shard(3, 3)


def feeds_covering_every_shard(site, per_shard: int = 2, shared_article: bool = False) -> list[dict]:
    """Feeds on `site` chosen so that each shard has `per_shard` of them; each feed links one
    matching article and one unrelated page; with `shared_article`, two feeds in different
    shards also link the same article."""
    chosen: dict[int, list[str]] = {k: [] for k in range(SHARDS)}
    for i in range(200):
        path = f"/feeds/{i}.xml"
        bucket = chosen[shard_of(site.url(path), SHARDS)]
        if len(bucket) < per_shard:
            bucket.append(path)
    paths = [path for k in range(SHARDS) for path in chosen[k]]
    lead, more = LEADS[-1]
    shared = site.add("/news/shared.html", ARTICLE.format(title="Shared report on munitions", lead=lead, more=more))
    feeds = []
    for n, path in enumerate(paths):
        lead, more = LEADS[n]
        hit = site.add(f"/news/{n}.html", ARTICLE.format(title=f"Munitions report {n}", lead=lead, more=more))
        cold = site.add(f"/news/cold-{n}.html", WEATHER.format(n=n))
        items = [{"title": f"Munitions report {n}", "link": hit}, {"title": f"Cold week {n}", "link": cold}]
        if shared_article and n in (0, len(paths) - 1):  # first shard's first feed and last shard's last feed
            items.append({"title": "Shared report on munitions", "link": shared})
        site.add(path, rss(items), content_type="application/rss+xml")
        feeds.append({"url": site.url(path), "name": f"Feed {n}"})
    return feeds


def run_shard(config_dir: str, index: int):
    return run_pass(load_config(config_dir), shard=Shard(index, SHARDS))


def pending_deliveries(database_url: str) -> int:
    engine = open_database(database_url)
    try:
        return delivery_counts(engine).get("pending", 0)
    finally:
        engine.dispose()


def stored_hits(database_url: str) -> set[tuple[str, str]]:
    engine = open_database(database_url)
    try:
        return {(hit.rule, hit.url) for hit in list_hits(engine)}
    finally:
        engine.dispose()


def alerts_sent(webhook) -> Counter:
    """Alert titles (rule and article): the body also names the feed the article came through,
    which for an article in two feeds depends on which was polled first."""
    return Counter(item.get("title", "") for item in webhook.received)


@pytest.mark.slow
def test_three_shards_store_and_alert_exactly_what_one_run_does(site, tmp_path, database_url, request):
    check_shards_match_one_run(site, tmp_path, database_url, request, shared_article=False)


@pytest.mark.slow
def test_three_shards_at_the_same_time_store_and_alert_exactly_what_one_run_does(site, tmp_path, database_url,
                                                                                  request):
    """As on several workers: the shards' passes overlap, and each relays the shared outbox."""
    check_shards_match_one_run(site, tmp_path, database_url, request, shared_article=True, concurrently=True)


@pytest.mark.slow
def test_three_shards_match_one_run_when_two_feeds_share_an_article(site, tmp_path, request):
    check_shards_match_one_run(site, tmp_path, f"sqlite:///{tmp_path / 'shards.db'}", request, shared_article=True)


def check_shards_match_one_run(site, tmp_path, database_url, request, *, shared_article: bool,
                               concurrently: bool = False) -> None:
    from tests.localservers import WebhookReceiver

    feeds = feeds_covering_every_shard(site, shared_article=shared_article)
    whole_hook, shards_hook = WebhookReceiver(), WebhookReceiver()
    request.addfinalizer(whole_hook.close)
    request.addfinalizer(shards_hook.close)
    whole_db = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = load_config(write_config(tmp_path / "whole", feeds=feeds, database_url=whole_db,
                                     channels={"hook": {"url": whole_hook.apprise_url()}}))
    sharded = load_config(write_config(tmp_path / "sharded", feeds=feeds, database_url=database_url,
                                       channels={"hook": {"url": shards_hook.apprise_url()}}))

    one = run_pass(whole)
    if concurrently:  # one process per shard, as on several workers
        with ProcessPoolExecutor(SHARDS, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(run_shard, [sharded.directory] * SHARDS, range(SHARDS)))
    else:
        parts = [run_pass(sharded, shard=Shard(k, SHARDS)) for k in range(SHARDS)]

    assert [part.feeds_polled for part in parts] == [2, 2, 2]
    assert {o.url for part in parts for o in part.feeds} == {feed["url"] for feed in feeds}
    assert sum(part.feeds_failed for part in parts) == one.feeds_failed == 0
    expected = stored_hits(whole_db)
    reports = {url for rule, url in expected if rule == "DPRK arms transfer"}
    assert len(reports) == len(feeds) + shared_article  # every feed's report hits, the shared article once
    assert stored_hits(database_url) == expected
    assert sum(len(set(part.hit_ids)) for part in parts) == len(set(one.hit_ids)) == len(expected)
    assert sum(part.alerts_sent for part in parts) == one.alerts_sent == len(whole_hook.received) > 0
    assert alerts_sent(shards_hook) == alerts_sent(whole_hook)
    assert pending_deliveries(database_url) == 0
