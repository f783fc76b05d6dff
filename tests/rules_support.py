"""A local outlet for the rule-history tests: five articles on distinct topics, two rule versions.

Version 1 of the rules is what the first pass runs; version 2 is the user's edit:
- `Missiles` changed (`missile*` -> `(missile* OR drone*) NOT launch*`): gains the drone
  factory article, loses the launch article, keeps the missile factory one;
- `Drones` renamed `Unmanned aircraft` (same query, so the same content hash);
- `Sanctions` deleted;
- `Weather` unchanged;
- `Factories` new.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlmodel import SQLModel

from newswatch.cli import main
from store import open_database
from tests.conftest import rss, write_config

PAGE = ("<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>{body}</p><p>Officials gave no further details on Tuesday, and reporters were not allowed to "
        "visit the site. More information is expected later this week, the ministry said.</p>"
        "</article></body></html>")
ARTICLES = {
    "launch": ("Missile launch over the sea", "North Korea carried out a missile launch over the East Sea "
               "early on Tuesday morning, according to the military."),
    "missile-factory": ("A new missile factory", "Satellite images show a missile factory being expanded "
                        "near the border with new assembly halls."),
    "drone-factory": ("A new drone factory", "An engineering company opened a drone factory in the "
                      "industrial park on Monday, promising four hundred jobs for local graduates."),
    "snow": ("Snow in the east", "Forecasters expect heavy snow in the mountainous east of the country "
             "by Thursday, with freezing nights."),
    "sanctions": ("New sanctions announced", "The council announced new sanctions on shipping companies "
                  "accused of carrying coal and oil."),
}
RULES_V1 = """
rules:
  - name: Missiles
    query: 'missile*'
  - name: Drones
    query: 'drone*'
  - name: Sanctions
    query: 'sanction*'
  - name: Weather
    query: 'snow'
"""
RULES_V2 = """
rules:
  - name: Missiles
    query: '(missile* OR drone*) NOT launch*'
  - name: Unmanned aircraft
    query: 'drone*'
  - name: Weather
    query: 'snow'
  - name: Factories
    query: 'factor*'
"""


def publish(site, feed_path: str = "/rss.xml", slugs=tuple(ARTICLES), prefix: str = "/news/") -> dict[str, str]:
    """Serve the articles and a feed listing them (published now, so they alert); slug -> URL."""
    urls = {}
    for slug in slugs:
        title, body = ARTICLES[slug]
        urls[slug] = site.add(f"{prefix}{slug}.html", PAGE.format(title=title, body=body))
    site.add(feed_path, rss([{"title": ARTICLES[s][0], "link": urls[s]} for s in slugs]),
             content_type="application/rss+xml")
    return urls


def outlet_config(directory: Path, site, webhook, database_url: str, rules: str = RULES_V1) -> Path:
    return write_config(directory, database_url=database_url, rules=rules,
                        feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}],
                        channels={"hook": {"url": webhook.apprise_url()}})


def edit_rules(config_dir: Path, rules: str = RULES_V2) -> None:
    (config_dir / "rules.yaml").write_text(rules)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(database_url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: equal snapshots mean nothing was written."""
    engine = open_database(database_url)
    try:
        with engine.connect() as connection:
            return {table.name: [tuple(row) for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns))]
                    for table in SQLModel.metadata.sorted_tables}
    finally:
        engine.dispose()


def by_rule(preview: dict) -> dict[str, dict]:
    return {rule["rule"]: rule for rule in preview["rules"]}


def slugs_of(articles: list[dict], urls: dict[str, str]) -> set[str]:
    names = {url: slug for slug, url in urls.items()}
    return {names[article["url"]] for article in articles}
