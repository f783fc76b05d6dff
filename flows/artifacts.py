"""What a pass leaves in the Prefect UI, so the UI reads like a log book.

Per run: its new hits as stories (`monitor-hits`), a markdown summary (`monitor-summary`)
and a feed-health table (`feed-health`). Per rule: a keyed briefing
`hits-<instance>-<rule-slug>` (`flows.briefing`: volume, spikes, the rule's recent stories; its
description counts the hits per language),
published by every run that finds hits for that rule, so the Artifacts page keeps each
rule's history (one version per run). The instance name (settings `instance`, by default
from the config directory's name) keeps two configs that share a Prefect server, or the
demo, from writing over each other's rule histories.

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

from flows.briefing import RuleBriefing, rule_briefing_calls, run_hits_markdown
from flows.redaction import redact
from flows.stages import FeedOutcome
from flows.summary import PassSummary
from store.views import HitView

def rule_slug(rule: str) -> str:
    """The artifact key of a rule's history: `hits-` + lowercase words joined by dashes.
    Names without a latin letter or digit (e.g. `북한 미사일`) get a short stable hash."""
    words = re.findall(r"[a-z0-9]+", rule.lower())
    if words:
        return "hits-" + "-".join(words)[:80].strip("-")
    return "hits-rule-" + hashlib.sha256(rule.encode("utf-8")).hexdigest()[:10]


def rule_key(rule: str, instance: str) -> str:
    """The artifact key of a rule's history in one instance: `hits-<instance>-<rule words>`."""
    return f"hits-{instance}-" + rule_slug(rule).removeprefix("hits-")


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
                           also: Sequence[tuple[Callable, dict]] = (),
                           briefings: Mapping[str, RuleBriefing] | None = None,
                           instance: str = "newswatch") -> None:
    """The run's hits (a list of stories), summary and feed-health table, and one keyed
    briefing per rule that hit in this run (`rule_history`: rule name -> its most recent
    stored hits; `briefings`: their volume and stories, `flows.briefing`), keyed by
    `rule_key` in `instance`; `also`: other API calls of the run's end (its new name),
    made beside them."""
    calls: list[tuple[Callable, dict]] = [
        (create_markdown_artifact, dict(markdown=run_hits_markdown(hits, summary.headline()), key="monitor-hits",
                                        description=f"Hits found by this pass: {summary.headline()}")),
        (create_markdown_artifact, dict(markdown=summary_markdown(summary), key="monitor-summary",
                                        description="What this pass did")),
    ]
    if summary.feeds:
        calls.append((create_table_artifact, dict(table=feed_health_rows(summary.feeds), key="feed-health",
                                                  description="How each feed of this pass did")))
    calls += rule_briefing_calls(rule_history, briefings or {}, lambda rule: rule_key(rule, instance))
    run_side_by_side(calls + list(also))


def run_side_by_side(calls: list[tuple[Callable, dict]], threads: int = 8) -> None:
    """Each call on a thread, in a copy of this context (the flow run's, so each artifact is
    the run's), all at once: none depends on another, so a pass need not wait for each API
    round trip in turn. The first error is raised once all have ended."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), threads)), thread_name_prefix="artifact") as pool:
        futures = [pool.submit(contextvars.copy_context().run, func, **kwargs) for func, kwargs in calls]
    for future in futures:
        future.result()
