"""The summary of one pass: what the CLI prints, `--json` emits and the artifacts show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime

from flows.stages import FeedOutcome


class FeedOutcomes(Sequence[FeedOutcome]):
    """A pass's feed outcomes, in a Sequence that is not a list: Prefect walks a flow's return
    value through lists and dataclasses looking for futures, work that grows with the feeds
    and finds none here, and does not enter other types."""

    def __init__(self, outcomes: Iterable[FeedOutcome] = ()):
        self._outcomes = list(outcomes)

    def __getitem__(self, index):
        return self._outcomes[index]

    def __len__(self) -> int:
        return len(self._outcomes)

    def extend(self, outcomes: Iterable[FeedOutcome]) -> None:
        self._outcomes.extend(outcomes)

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (FeedOutcomes, list)) else NotImplemented

    __hash__ = None  # mutable, like the list it stands for

    def __repr__(self) -> str:
        return f"FeedOutcomes({self._outcomes!r})"


@dataclass
class PassSummary:
    started_at: datetime
    finished_at: datetime | None = None
    feeds_total: int = 0
    feeds_polled: int = 0
    feeds_ok: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    feeds_parked: int = 0
    feeds_skipped: int = 0
    new_articles: int = 0
    flagged_articles: int = 0
    hits: int = 0
    baseline_hits: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_pending: int = 0
    alert_errors: list[str] = field(default_factory=list)
    feeds: FeedOutcomes = field(default_factory=FeedOutcomes)

    @property
    def hit_ids(self) -> list[int]:
        """Every hit stored by this pass, alerting and baseline."""
        return [hit for outcome in self.feeds for hit in outcome.hit_ids + outcome.baseline_hit_ids]

    def add_feeds(self, outcomes: list[FeedOutcome]) -> None:
        self.feeds.extend(outcomes)
        for outcome in outcomes:
            self.feeds_polled += outcome.status != "skipped"
            self.feeds_ok += outcome.status == "ok"
            self.feeds_not_modified += outcome.status == "not_modified"
            self.feeds_failed += outcome.status == "failed"
            self.feeds_skipped += outcome.status == "skipped"
            self.feeds_parked += outcome.parked
            self.new_articles += outcome.new_articles
            self.flagged_articles += outcome.flagged
            self.hits += len(outcome.hit_ids)
            self.baseline_hits += len(outcome.baseline_hit_ids)

    def to_json(self) -> dict:
        """The `--json` summary. Each feed is copied field by field, its lists copied:
        `dataclasses.asdict` would deep-copy every value, and the fields hold only strings,
        numbers and lists of them, which need no deep copy."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["alert_errors"] = list(self.alert_errors)
        names = [f.name for f in fields(FeedOutcome)]
        data["feeds"] = [{name: _copied(getattr(outcome, name)) for name in names} for outcome in self.feeds]
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return data

    def headline(self) -> str:
        hits = self.hits + self.baseline_hits
        return f"{hits} hit{'s' if hits != 1 else ''}"

    def run_title(self) -> str:
        """What a run's name ends with: its hits, and how many feeds failed when any did, so a
        run whose feeds all failed does not read as a quiet "0 hits" in the list of runs."""
        return self.headline() + self.failed_feeds()

    def failed_feeds(self) -> str:
        return f", {self.feeds_failed} of {self.feeds_polled} feeds failed" if self.feeds_failed else ""

    def headline_line(self) -> str:
        """The pass in one line, naming no feed (each failed feed has its own warning)."""
        return (f"{self.headline()}, {self.new_articles} new articles{self.failed_feeds()}, "
                f"{self.alerts_sent} alerts sent, {self.alerts_failed} failed")

    def to_text(self) -> str:
        """The summary the terminal shows once, at the end. A feed that failed in this pass is
        not listed again (its warning, as it failed, said which, why and when it is tried next),
        except the one this pass parked: every summary names every parked feed."""
        lines = [
            f"feeds: {self.feeds_total} configured, {self.feeds_polled} polled, {self.feeds_ok} ok, "
            f"{self.feeds_not_modified} unchanged, {self.feeds_failed} failed, {self.feeds_parked} parked, "
            f"{self.feeds_skipped} not due",
            f"articles: {self.new_articles} new ({self.flagged_articles} from the feed text only)",
            f"hits: {self.hits} new" + (f" + {self.baseline_hits} old news on first poll (stored, not alerted)"
                                         if self.baseline_hits else ""),
            f"alerts: {self.alerts_sent} sent, {self.alerts_failed} failed, {self.alerts_pending} waiting",
        ]
        if self.feeds_failed:
            lines.append(f"  {self.feeds_failed} feed(s) failed: each is named in its warning above, and the run's "
                         "feed-health table lists every feed")
        for outcome in self.feeds:
            if outcome.parked and (outcome.status == "skipped" or outcome.parked_now):
                when = f"{outcome.next_poll_at:%Y-%m-%d %H:%M} UTC" if outcome.next_poll_at else "next pass"
                state = "parked in this pass" if outcome.parked_now else "parked"
                lines.append(f"  {state}: {outcome.feed} ({outcome.url}): {outcome.error_class}, "
                             f"{outcome.error_count} failures in a row; next try {when}")
        lines.extend(f"  alert failed: {error}" for error in self.alert_errors[:20])
        return "\n".join(lines)


def _copied(value):
    return list(value) if isinstance(value, list) else value
