"""What a pass leaves in the Prefect UI: a table of its hits and a markdown summary.

Rows are built from the stored hits (not from in-memory state), so the artifact shows
exactly what `newswatch hits` shows. Nothing secret goes in: no channel URLs.
"""

from __future__ import annotations

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.summary import PassSummary
from store.views import HitView, iso_utc

MAX_ROWS = 500


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
        }
        for hit in hits[:MAX_ROWS]
    ]


def _cell(text: str) -> str:
    return text.replace("[", "(").replace("]", ")").replace("|", "/")


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
        lines += [f"| {_cell(o.feed)} | {o.error_class} | {o.error_count} | {'yes' if o.parked else 'no'} |"
                  for o in failed]
    return "\n".join(lines)


def publish_pass_artifacts(summary: PassSummary, hits: list[HitView]) -> None:
    """One table artifact of this pass's hits and one markdown summary."""
    create_table_artifact(
        table=hit_rows(hits) or [{"rule": "", "title": "no new hits in this pass", "source": "", "published": "",
                                  "matched terms": "", "snippet": "", "alerted": ""}],
        key="monitor-hits",
        description=f"Hits found by this pass: {summary.headline()}",
    )
    create_markdown_artifact(markdown=summary_markdown(summary), key="monitor-summary",
                             description="What this pass did")
