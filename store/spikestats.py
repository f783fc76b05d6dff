"""Is this many stories in the window a spike? Pure statistics over story times, no database.

Method: a Poisson tail probability against an hour-of-week-aware rolling baseline, with a floor.

- What is counted: distinct stories (syndicated copies count once), each at its first
  appearance (published time, found time when it has none); `store.volume` reads them.
- Expected count for the window (s, e] of W hours: the largest of
  (a) the flat rate of the rolling baseline (the up-to-28 days before s) scaled to W hours,
  (b) the mean count of the same hours of the week in the previous weeks the history covers
      (news has weekly rhythms: Monday mornings are busy, and must not alert every week),
  (c) a floor of `FLOOR_STORIES` (a usually silent rule has a rate near zero, against which
      any two stories would be "improbable").
- A spike: at least `min_stories` in the window AND P(X >= count | Poisson(expected)) below
  `sensitivity`. Why Poisson, not a z-score: story arrivals are counts, mostly small; a
  z-score assumes a normal spread, is undefined on a quiet topic (zero variance) and gives no
  probability a user can tune; the Poisson tail is exact for independent arrivals, and the
  sensitivity is that probability, so "0.001" reads as "about one false alarm per thousand
  windows". Taking the largest of the three expectations errs towards fewer, surer alerts.
- No judgement without history: a window needs `MIN_BASELINE` of history before it, so a
  rule's very first stories never count as a spike. The history is what is stored, however it
  arrived: a first poll of a feed's archive builds it, and a burst in that same poll can spike.

`find_spikes` replays the same decision hour by hour over a span (the backtest); windows that
spike and overlap form one spike, so a burst is reported (and alerted) once, not once per pass.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.models import SpikeConfig

BASELINE = timedelta(days=28)
MIN_BASELINE = timedelta(days=3)
WEEKS_BACK = 4
FLOOR_STORIES = 0.5
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WindowCount:
    """One window's verdict: its stories against the expected count, and how improbable."""

    start: datetime
    end: datetime
    stories: int
    expected: float
    probability: float
    spike: bool


@dataclass(frozen=True)
class Spike:
    """A run of overlapping spiking windows: from the first one's start to the last one's end."""

    start: datetime
    end: datetime
    stories: int  # the most stories any of its windows held
    expected: float  # the expected count of the window that first spiked
    probability: float


def poisson_tail(count: int, expected: float) -> float:
    """P(X >= count) for X ~ Poisson(expected). Above the mean the tail is summed directly, in
    log space (1 - the lower sum loses every digit when the tail is tiny); below it, 1 - the
    lower sum is accurate."""
    if count <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    if count <= expected:
        below = sum(math.exp(_log_pmf(k, expected)) for k in range(count))
        return max(0.0, 1.0 - below)
    total, k = 0.0, count
    while True:
        term = math.exp(_log_pmf(k, expected))
        total += term
        k += 1
        if term <= total * 1e-16 or k > count + 100_000:
            return min(1.0, total)


def _log_pmf(k: int, expected: float) -> float:
    return -expected + k * math.log(expected) - math.lgamma(k + 1)


def count_between(times: Sequence[datetime], start: datetime, end: datetime) -> int:
    """Stories in (start, end] of the sorted `times`."""
    return bisect_right(times, end) - bisect_right(times, start)


def expected_stories(times: Sequence[datetime], start: datetime, end: datetime,
                     history_start: datetime) -> float | None:
    """The expected count of (start, end] (see the module docstring); None: too little history."""
    base_start = max(history_start, start - BASELINE)
    span = start - base_start
    if span < MIN_BASELINE:
        return None
    flat = count_between(times, base_start, start) * ((end - start) / span)
    weeks = [count_between(times, start - k * WEEK, end - k * WEEK) for k in range(1, WEEKS_BACK + 1)
             if start - k * WEEK >= history_start]
    same_hours = sum(weeks) / len(weeks) if weeks else 0.0
    return max(FLOOR_STORIES, flat, same_hours)


def judge_window(times: Sequence[datetime], end: datetime, settings: SpikeConfig,
                 history_start: datetime | None = None) -> WindowCount | None:
    """The verdict on the window of `settings.window_hours` ending at `end`; None: no judgement
    (no history yet). `times` sorted; `history_start` defaults to the first of them."""
    if not times:
        return None
    start = end - timedelta(hours=settings.window_hours)
    expected = expected_stories(times, start, end, history_start or times[0])
    if expected is None:
        return None
    stories = count_between(times, start, end)
    probability = poisson_tail(stories, expected)
    spike = stories >= settings.min_stories and probability < settings.sensitivity
    return WindowCount(start, end, stories, round(expected, 3), probability, spike)


def find_spikes(times: Sequence[datetime], since: datetime, until: datetime, settings: SpikeConfig,
                step: timedelta = timedelta(hours=1)) -> list[Spike]:
    """The spikes the settings raise over (since, until], windows judged every `step` and at
    `until`; overlapping spiking windows are one spike."""
    times = sorted(times)
    spikes: list[Spike] = []
    for end in _window_ends(since, until, step):
        verdict = judge_window(times, end, settings)
        if verdict is None or not verdict.spike:
            continue
        last = spikes[-1] if spikes else None
        if last is not None and last.end >= verdict.start:
            spikes[-1] = Spike(last.start, verdict.end, max(last.stories, verdict.stories), last.expected,
                               min(last.probability, verdict.probability))
        else:
            spikes.append(Spike(verdict.start, verdict.end, verdict.stories, verdict.expected, verdict.probability))
    return spikes


def _window_ends(since: datetime, until: datetime, step: timedelta) -> list[datetime]:
    """Every whole `step` after `since` (aligned to the hour), then `until` itself."""
    first = since.replace(minute=0, second=0, microsecond=0) + step
    ends = []
    while first < until:
        ends.append(first)
        first += step
    return ends + [until]

