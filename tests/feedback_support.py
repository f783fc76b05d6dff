"""A local outlet for the feedback tests: a `Missiles` rule, its true and false hits, and misses.

`missile*` finds four stories about missile tests (relevant) and six reviews of the
arcade game "Missile Command" (irrelevant); it misses four stories about rocket launches
that say "rocket" and never "missile" (relevant): enough labels for the learner's bounds. Six weather stories are noise. The
rules.yaml has comments, a second rule and an example, to check that an applied
suggestion leaves everything else as it was.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import rss, write_config

PAGE = ("<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        "<p>{body}</p><p>Reporters were told that more information would follow later this week.</p>"
        "</article></body></html>")
TEST = ("The military said the {what} flew {km} kilometres before falling into the sea, and neighbouring "
        "governments condemned the launch at an emergency meeting of the security council.")
GAME = ("Our critic spent a weekend with the remastered arcade classic {title}: the joystick controls feel "
        "sharp, the cabinet art is faithful, and the high score table brings back the old arcade nights.")
ROCKET = ("A long-range rocket was launched from the northern coast on {day}, the defence ministry said, "
          "and the rocket flew over {km} kilometres before it came down at sea.")
WEATHER = "Forecasters expect heavy {what} in the east of the country by Thursday, with freezing nights."

ARTICLES = {
    **{f"test-{n}": (f"Missile test number {n}", TEST.format(what="ballistic missile", km=300 + n))
       for n in range(1, 5)},
    **{f"game-{n}": (f"Review: Missile Command {n}", GAME.format(title=f"Missile Command {n}"))
       for n in range(1, 7)},
    **{f"rocket-{n}": (f"Rocket launch {n} condemned", ROCKET.format(day=day, km=500 + n))
       for n, day in ((1, "Monday"), (2, "Tuesday"), (3, "Friday"), (4, "Sunday"))},
    **{what: (f"{what.title()} in the east", WEATHER.format(what=what))
       for what in ("snow", "rain", "hail", "fog", "wind", "sleet")},
}
RELEVANT = [slug for slug in ARTICLES if slug.startswith(("test-", "rocket-"))]
IRRELEVANT = [slug for slug in ARTICLES if slug.startswith("game-")]

RULES = """# Watch rules of the analyst (comments stay where they are)

rules:
  # the rule being taught
  - name: Missiles
    query: 'missile*'   # first draft
    examples:
      match:
        - North Korea fired a missile on Tuesday.

  # a rule nobody touches
  - name: Weather
    query: snow OR rain
    examples:
      no_match: ["sunny all week"]   # flow style, kept as written
"""


def publish_outlet(site) -> dict[str, str]:
    urls = {slug: site.add(f"/news/{slug}.html", PAGE.format(title=title, body=body))
            for slug, (title, body) in ARTICLES.items()}
    site.add("/rss.xml", rss([{"title": ARTICLES[s][0], "link": urls[s]} for s in ARTICLES]),
             content_type="application/rss+xml")
    return urls


def outlet_config(directory: Path, site, database_url: str) -> Path:
    config_dir = write_config(directory, database_url=database_url, rules=RULES,
                              feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}])
    (config_dir / "rules.yaml").write_text(RULES)
    return config_dir
