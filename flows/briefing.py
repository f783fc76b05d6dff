"""The briefing: what a rule's artifact in the Prefect UI says, written for an analyst to read.

Per rule (`rule_briefing_calls`, published under the rule's key by `flows.artifacts`): the
volume of the last 30 days in distinct stories a day (a text sparkline, spike days marked,
and the same as a small SVG bar chart), its recorded spikes, then its stories newest first,
each once however many outlets copied it: title (linked), outlets and languages, published
time, alert state, and the matching sentence with the matched terms in bold. Per run
(`run_hits_markdown`): this pass's stories the same way, without the volume.

Markdown, not a table: a table's columns (title, terms, snippet...) ran off the side of a
1,400 px screen; a list of short blocks wraps to any width. Everything shown comes from the
store (`read_briefings`), so the UI shows what `newswatch hits` shows; nothing secret goes in.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from prefect.artifacts import create_markdown_artifact
from sqlmodel import Session

from alerts.escape import escape_markdown, mark_snippet, markdown_link
from flows.redaction import redact
from store import database
from store.events import EventView, list_events
from store.views import HitView, iso_utc, story_alert_text
from store.volume import StoryOutline, daily_counts, story_outlines, story_times

DAYS = 30
BARS = "▁▂▃▄▅▆▇█"
MAX_STORIES = 60  # per rule briefing: the newest; `newswatch hits --rule` lists every one


@dataclass(frozen=True)
class RuleBriefing:
    """What the store says about a rule beyond its hits: daily volume, spikes, story outlines."""

    days: list[tuple[datetime, int]] = field(default_factory=list)
    spikes: list[EventView] = field(default_factory=list)
    outlines: dict[int, StoryOutline] = field(default_factory=dict)


def read_briefings(database_url: str, rule_history: Mapping[str, list[HitView]],
                   now: datetime | None = None) -> dict[str, RuleBriefing]:
    """For each rule of `rule_history`: its last 30 days of volume, its spikes in them, and the
    outlets and languages of the stories among its hits."""
    now = now or datetime.now(timezone.utc)
    since = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    with database(database_url) as engine:
        spikes = [event for event in list_events(engine, kind="spike", since=since - timedelta(days=7))
                  if event.window_end and event.window_end >= since]
        with Session(engine) as session:
            return {rule: RuleBriefing(
                days=daily_counts(story_times(session, rule, since), now, DAYS),
                spikes=[event for event in spikes if event.rule == rule],
                outlines=story_outlines(session, {hit.story_id for hit in hits if hit.story_id is not None}))
                for rule, hits in rule_history.items()}


@dataclass(frozen=True)
class StoryEntry:
    """A story as the briefing lists it: its newest hit, the outline, the alert state."""

    hit: HitView
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    alert_state: str
    latest: datetime


def group_stories(hits: Sequence[HitView], outlines: Mapping[int, StoryOutline]) -> list[StoryEntry]:
    """One entry per rule and story (copies are one), newest first."""
    by_story: dict[tuple[str, int], list[HitView]] = {}
    for hit in hits:
        by_story.setdefault((hit.rule, hit.story_id if hit.story_id is not None else -hit.hit_id), []).append(hit)
    entries = []
    for (_, story), story_hits in by_story.items():
        outline = outlines.get(story)
        first = min(story_hits, key=lambda h: h.hit_id)
        outlets = outline.outlets if outline else tuple(dict.fromkeys(
            [first.feed] + [c.feed for c in first.also_reported_by]))
        languages = outline.languages if outline else tuple(sorted({h.language for h in story_hits if h.language}))
        latest = max(h.published or h.found_at for h in story_hits)
        entries.append(StoryEntry(first, outlets, languages, alert_state(story_hits), latest))
    return sorted(entries, key=lambda entry: entry.latest, reverse=True)


def alert_state(hits: Sequence[HitView]) -> str:
    """Where the story's alert stands: the one alert state of `store.alertstate`, as `hits`
    shows it, its error message redacted (the UI is no place for a channel's tokens)."""
    return redact(story_alert_text(hits))


def label_line(hit: HitView) -> str:
    """The analyst's label of the story's hit (`newswatch label`), when it has one."""
    return f"  \n**Label:** {hit.label}" if hit.label else ""


def story_markdown(entry: StoryEntry, *, with_rule: bool = False) -> str:
    hit = entry.hit
    when = iso_utc(hit.published).replace("T", " ").replace("Z", " UTC") if hit.published else "undated"
    outlets = f"{len(entry.outlets)} outlet{'s' if len(entry.outlets) != 1 else ''}: " + \
        ", ".join(escape_markdown(o) for o in entry.outlets)
    languages = ", ".join(entry.languages) or "language unknown"
    sentence = mark_snippet(hit.snippet, hit.marks, escape_markdown, "**", "**").replace("\n", " ")
    rule = f"**Rule:** {escape_markdown(hit.rule)}  \n" if with_rule else ""
    return (f"### {title_link(hit.title or hit.url, hit.url)}\n\n"
            f"{rule}**Outlets:** {outlets}  \n**Languages:** {escape_markdown(languages)} · "
            f"**Published:** {when}  \n**Alert:** {escape_markdown(entry.alert_state)}{label_line(entry.hit)}\n\n"
            f"> {sentence or '(matched in the title)'}\n")


def title_link(title: str, url: str) -> str:
    """The title linked to the article. Prefect's renderer shows backslash escapes inside a
    heading's link label literally (`self\\-contradictory`), so the label is not escaped: the
    characters that would need it go instead (and the URL goes through `markdown_link`)."""
    label = " ".join(title.split()).replace("[", "(").replace("]", ")")
    label = "".join(char for char in label if char not in "*_`<>\\")
    link = markdown_link("x", url)
    return f"[{label}]{link[3:]}" if link.startswith("[x](") else label


def _stories(count: int) -> str:
    return f"{count} stor{'y' if count == 1 else 'ies'}"


def sparkline(counts: Sequence[int]) -> str:
    """One block character a day, its height the day's share of the busiest day."""
    top = max(counts, default=0)
    return "".join(" " if top == 0 else BARS[min(len(BARS) - 1, round(c / top * (len(BARS) - 1)))] if c else "·"
                   for c in counts)


def spike_days(days: Sequence[tuple[datetime, int]], spikes: Sequence[EventView]) -> set[int]:
    """Indexes of the days a recorded spike's window touched."""
    marked = set()
    for index, (day, _) in enumerate(days):
        end = day + timedelta(days=1)
        if any(s.window_start and s.window_end and s.window_start < end and s.window_end >= day for s in spikes):
            marked.add(index)
    return marked


def volume_markdown(briefing: RuleBriefing) -> str:
    """The volume picture: a sparkline with spike days marked under it, a bar chart, the spikes."""
    days, counts = briefing.days, [count for _, count in briefing.days]
    if not days:
        return ""
    marked = spike_days(days, briefing.spikes)
    marks = "".join("▲" if i in marked else " " for i in range(len(days))).rstrip()
    first, last = f"{days[0][0]:%m-%d}", f"{days[-1][0]:%m-%d}"
    lines = [f"## Volume: distinct stories a day, last {len(days)} days", "",
             "```", f"stories {sparkline(counts)}  max {max(counts)}/day",
             f"spikes  {marks}" if marks else "spikes  (none)",
             f"        {first}{' ' * max(1, len(days) - len(first) - len(last))}{last}", "```", "",
             f"![Distinct stories a day, last {len(days)} days; spike days in red]({chart_uri(days, marked)})", "",
             f"{_stories(sum(counts))} in {len(days)} days; today {counts[-1]}.", ""]
    for spike in briefing.spikes:
        lines.append(f"- **Spike:** {spike.stories} stories in {spike.details.get('window_hours', '?')} h "
                     f"(expected {spike.expected:g}), {spike.window_start:%Y-%m-%d %H:%M} to "
                     f"{spike.window_end:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


def chart_uri(days: Sequence[tuple[datetime, int]], marked: set[int]) -> str:
    """A 600x120 SVG bar chart as a data URI (no plotting library: thirty rectangles)."""
    width, height, top = 600, 120, max([count for _, count in days] + [1])
    bar = width / len(days)
    rects = "".join(
        f'<rect x="{i * bar + 1:.1f}" y="{height - 16 - count / top * (height - 24):.1f}" width="{bar - 2:.1f}" '
        f'height="{count / top * (height - 24):.1f}" fill="{"#d62728" if i in marked else "#4c78a8"}"/>'
        for i, (_, count) in enumerate(days))
    labels = (f'<text x="0" y="{height - 2}">{days[0][0]:%m-%d}</text>'
              f'<text x="{width}" y="{height - 2}" text-anchor="end">{days[-1][0]:%m-%d}</text>'
              f'<text x="2" y="10">max {top}</text>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}"><g font-size="11" font-family="sans-serif" fill="#888">'
           f'{rects}{labels}</g></svg>')
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def briefing_markdown(rule: str, hits: Sequence[HitView], briefing: RuleBriefing | None) -> str:
    briefing = briefing or RuleBriefing()
    entries = group_stories(hits, briefing.outlines)
    parts = [f"# Rule briefing: {escape_markdown(rule)}", "",
             f"{_stories(len(entries))} among its {len(hits)} most recent hit{'s' if len(hits) != 1 else ''}, "
             "newest first; syndicated copies are one story.", "", volume_markdown(briefing), "", "## Stories", ""]
    parts += [story_markdown(entry) for entry in entries[:MAX_STORIES]]
    if len(entries) > MAX_STORIES:
        parts.append(f"... and {len(entries) - MAX_STORIES} more: `newswatch hits --rule \"{rule}\"`")
    return "\n".join(parts)


def run_hits_markdown(hits: Sequence[HitView], headline: str) -> str:
    """The per-run artifact: this pass's stories, with their rule."""
    entries = group_stories(hits, {})
    if not entries:
        return "# Hits of this pass\n\nNo new hits in this pass."
    parts = [f"# Hits of this pass: {headline}", "",
             f"{_stories(len(entries))}, newest first.", ""]
    return "\n".join(parts + [story_markdown(entry, with_rule=True) for entry in entries[:500]])


def count_languages(hits: Sequence[HitView]) -> str:
    """'by language: ko 3, en 2, unknown 1': the hits per article language, most first."""
    counts = Counter(hit.language or "unknown" for hit in hits)
    return "by language: " + ", ".join(f"{language} {count}" for language, count in counts.most_common())


def label_summary(hits: Sequence[HitView]) -> str:
    """The analyst's labels among these hits and the precision they give (`newswatch rules stats`
    has it per rule version, with its interval)."""
    relevant = sum(hit.label == "relevant" for hit in hits)
    labelled = relevant + sum(hit.label == "irrelevant" for hit in hits)
    if not labelled:
        return ""
    return f"; labelled {labelled}: {relevant} relevant, precision {relevant / labelled:.2f}"


def rule_briefing_calls(rule_history: Mapping[str, list[HitView]], briefings: Mapping[str, RuleBriefing],
                        key_of: Callable[[str], str]) -> list[tuple[Callable, dict]]:
    """The artifact calls of the rules' briefings, each under its rule's key."""
    return [(create_markdown_artifact, dict(
        markdown=briefing_markdown(rule, history, briefings.get(rule)), key=key_of(rule),
        description=f"Rule '{rule}': briefing of its {len(history)} most recent hit{'s' if len(history) != 1 else ''}, "
                    f"newest first ({count_languages(history)}){label_summary(history)}"))
        for rule, history in sorted(rule_history.items())]
