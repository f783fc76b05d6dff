"""A topic's history as a local outlet publishes it: distinct stories on a schedule, served
from 127.0.0.1, for the spike, story-update and briefing tests."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from html import escape

from tests.conftest import rss

WORDS = ("lava ash plume crater summit eruption village road airport flights evacuation shelter school "
         "police army helicopter river bridge farm cattle harvest market price minister governor mayor "
         "scientist sensor tremor quake magnitude station warning alert level siren coast harbour ship "
         "fishermen tourists hotel museum church council budget fund insurance damage roof window glass "
         "power grid water supply hospital doctor nurse patient mask dust wind rain storm cloud satellite "
         "image camera drone survey report record decade century history map zone border radius kilometre "
         "night morning evening weekend monday tuesday friday families children elderly volunteers").split()
RULES = """rules:
  - name: Volcano watch
    query: volcano
    spikes: true
    story_updates: 3
"""


def story_text(number: int) -> str:
    """A distinct story about the volcano: its own words, so no two stories look like copies."""
    rng = random.Random(number)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(9)]
    sentences.insert(1, f"The volcano was in the news again, report number {number} said.")
    return " ".join(sentences)


GERMAN_LEAD = (  # what a German outlet writes above the wire text it carries: its language is decided from the text
    "Der Vulkan auf der Insel ist nach Angaben der Behörden am Wochenende erneut ausgebrochen. "
    "Die Bewohner der umliegenden Dörfer wurden aufgefordert, ihre Häuser vorerst nicht zu verlassen "
    "und die Fenster geschlossen zu halten. Der Flughafen bleibt bis auf Weiteres geschlossen, "
    "mehrere Flüge wurden gestrichen oder umgeleitet. Wissenschaftler der örtlichen Messstation "
    "beobachten die Lage rund um die Uhr und rechnen mit weiteren Erschütterungen in den kommenden Tagen. "
    "Die Regierung hat Notunterkünfte in Schulen und Turnhallen eingerichtet, in denen bereits "
    "mehrere hundert Familien untergekommen sind. Freiwillige Helfer verteilen Wasser, Decken und "
    "Atemschutzmasken an die Menschen, die ihre Häuser verlassen mussten. Die Polizei sperrte die "
    "Straßen zum Gipfel und warnte Schaulustige davor, sich dem Krater zu nähern. Nach Einschätzung "
    "der Fachleute ist die Gefahr für die Küstenorte derzeit gering, doch die Lage könne sich jederzeit "
    "ändern. Wir dokumentieren im Folgenden den Bericht der Nachrichtenagentur im Wortlaut"
)


def story_page(title: str, text: str, language: str = "en") -> str:
    if language == "de":
        text = f"{GERMAN_LEAD}. {text}"
    paragraphs = "".join(f"<p>{escape(part)}.</p>" for part in text.split(". ") if part)
    return (f"<!doctype html><html lang='{language}'><head><title>{escape(title)}</title></head><body><article>"
            f"<h1>{escape(title)}</h1>{paragraphs}</article></body></html>")


def publish(site, path: str, stories: list[tuple[int, datetime]], *, copies_of: int | None = None,
            language: str = "en") -> str:
    """Serve one page per story (`copies_of`: every page is that story's text) and the feed
    listing them; the feed's URL."""
    items = []
    for number, published in stories:
        title = f"Mountain bulletin {number}"  # the keyword is in the body: the match is its sentence
        link = site.add(f"{path}/story-{number}.html", story_page(title, story_text(copies_of or number), language))
        items.append({"title": title, "link": link, "published": published})
    return site.add(f"{path}/rss.xml", rss(items), content_type="application/rss+xml")


def quiet_then_burst(now: datetime | None = None, burst: int = 10) -> list[tuple[int, datetime]]:
    """14 days of one story a day (at 09:00-ish), then `burst` stories in the last two hours."""
    now = now or datetime.now(timezone.utc)
    quiet = [(day, now - timedelta(days=15 - day, hours=3)) for day in range(1, 15)]
    recent = [(100 + n, now - timedelta(minutes=5 + 11 * n)) for n in range(burst)]
    return quiet + recent
