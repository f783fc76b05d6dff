"""What a pass leaves in the Prefect UI, so the UI reads like a log book.

Per run: a table of its new hits (`monitor-hits`), a markdown summary (`monitor-summary`)
and a feed-health table (`feed-health`). Per rule: a keyed table `hits-<rule-slug>` with
the rule's most recent hits, published by every run that finds hits for that rule, so
the Artifacts page keeps each rule's history (one version per run).

Rows are built from the stored hits (not from in-memory state), so the artifacts show
exactly what `newswatch hits` shows. Nothing secret goes in: no channel URLs, and feed
URLs and error messages lose their credentials and query strings (`redact`).
"""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.stages import FeedOutcome
from flows.summary import PassSummary
from store.views import HitView, iso_utc

MAX_ROWS = 500
RULE_HISTORY_ROWS = 100
HIT_COLUMNS = ("rule", "title", "source", "published", "matched terms", "snippet", "alerted", "label")
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")
_QUERY = re.compile(r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#]*)[?#][^\s'\")]*")


def redact(text: str) -> str:
    """`text` with every URL's user:password and query string masked (tokens often sit there)."""
    text = _CREDENTIALS.sub(r"\g<scheme>***@", text or "")
    return _QUERY.sub(r"\g<url>?***", text)


def rule_slug(rule: str) -> str:
    """The artifact key of a rule's history: `hits-` + lowercase words joined by dashes.
    Names without a latin letter or digit (e.g. `북한 미사일`) get a short stable hash."""
    words = re.findall(r"[a-z0-9]+", rule.lower())
    if words:
        return "hits-" + "-".join(words)[:80].strip("-")
    return "hits-rule-" + hashlib.sha256(rule.encode("utf-8")).hexdigest()[:10]


def hit_rows(hits: list[HitView]) -> list[dict]:
    return [
        {
            "rule": hit.rule,
            "title": f"[{_cell(hit.title or hit.url)}]({hit.url})",
            "source": hit.feed,
            "published": iso_utc(hit.published) or "",
            "matched terms": ", ".join(hit.terms),
            "snippet": hit.snippet,
            "alerted": "no (first poll)" if hit.baseline else "yes",
            "label": hit.label or "",
        }
        for hit in hits[:MAX_ROWS]
    ]


def label_summary(hits: list[HitView]) -> str:
    """The analyst's labels among these hits and the precision they give (`newswatch rules stats`
    has it per rule version, with its interval)."""
    relevant = sum(hit.label == "relevant" for hit in hits)
    labelled = relevant + sum(hit.label == "irrelevant" for hit in hits)
    if not labelled:
        return ""
    return f"; labelled {labelled}: {relevant} relevant, precision {relevant / labelled:.2f}"


def _cell(text: str) -> str:
    return text.replace("[", "(").replace("]", ")").replace("|", "/").replace("\n", " ")


def feed_error(outcome: FeedOutcome) -> str:
    """`ErrorClass: message` of a failed feed, redacted; empty when the feed is fine."""
    if not outcome.error_class:
        return ""
    return redact(f"{outcome.error_class}: {outcome.error or ''}".rstrip(": "))


def feed_health_rows(outcomes: list[FeedOutcome]) -> list[dict]:
    """One row per feed of this pass: status, error, how many failures in a row, parked."""
    return [
        {
            "feed": outcome.feed,
            "url": redact(outcome.url),
            "status": outcome.status,
            "error": feed_error(outcome),
            "failures in a row": outcome.error_count,
            "parked": "yes" if outcome.parked else "no",
            "new articles": outcome.new_articles,
            "hits": len(outcome.hit_ids) + len(outcome.baseline_hit_ids),
        }
        for outcome in outcomes
    ]


def summary_markdown(summary: PassSummary) -> str:
    lines = [
        "# newswatch pass",
        "",
        "| | |",
        "|---|---|",
        f"| feeds configured | {summary.feeds_total} |",
        f"| feeds polled / ok / unchanged | {summary.feeds_polled} / {summary.feeds_ok} / {summary.feeds_not_modified} |",
        f"| feeds failed / parked / not due | {summary.feeds_failed} / {summary.feeds_parked} / {summary.feeds_skipped} |",
        f"| new articles | {summary.new_articles} ({summary.flagged_articles} from feed text only) |",
        f"| hits | {summary.hits} (+{summary.baseline_hits} on first poll, not alerted) |",
        f"| alerts sent / failed / pending | {summary.alerts_sent} / {summary.alerts_failed} / {summary.alerts_pending} |",
    ]
    failed = [outcome for outcome in summary.feeds if outcome.status == "failed"]
    if failed:
        lines += ["", "## Failed feeds", "", "| feed | error | in a row | parked |", "|---|---|---|---|"]
        lines += [f"| {_cell(o.feed)} | {_cell(feed_error(o))} | {o.error_count} | {'yes' if o.parked else 'no'} |"
                  for o in failed]
    if summary.alert_errors:
        lines += ["", "## Failed alerts", ""] + [f"- {_cell(redact(error))}" for error in summary.alert_errors[:20]]
    return "\n".join(lines)


def publish_pass_artifacts(summary: PassSummary, hits: list[HitView],
                           rule_history: Mapping[str, list[HitView]],
                           also: Sequence[tuple[Callable, dict]] = ()) -> None:
    """The run's hits table, summary and feed-health table, and one keyed table per rule
    that hit in this run (`rule_history`: rule name -> its most recent stored hits); `also`:
    other API calls of the run's end (its new name), made beside them."""
    calls: list[tuple[Callable, dict]] = [
        (create_table_artifact, dict(
            table=hit_rows(hits) or [dict.fromkeys(HIT_COLUMNS, "") | {"title": "no new hits in this pass"}],
            key="monitor-hits", description=f"Hits found by this pass: {summary.headline()}")),
        (create_markdown_artifact, dict(markdown=summary_markdown(summary), key="monitor-summary",
                                        description="What this pass did")),
    ]
    if summary.feeds:
        calls.append((create_table_artifact, dict(table=feed_health_rows(summary.feeds), key="feed-health",
                                                  description="How each feed of this pass did")))
    calls += [(create_table_artifact, dict(
        table=hit_rows(history), key=rule_slug(rule),
        description=f"Rule '{rule}': its {len(history)} most recent hits, newest first{label_summary(history)}"))
        for rule, history in sorted(rule_history.items())]
    run_side_by_side(calls + list(also))


def run_side_by_side(calls: list[tuple[Callable, dict]], threads: int = 8) -> None:
    """Each call on a thread, in a copy of this context (the flow run's, so each artifact is
    the run's), all at once: one after the other, a pass waited for every API round trip,
    0.07-0.11 s of a 4-second quiet pass. The first error is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), threads)), thread_name_prefix="artifact") as pool:
        futures = [pool.submit(contextvars.copy_context().run, func, **kwargs) for func, kwargs in calls]
    for future in futures:
        future.result()
