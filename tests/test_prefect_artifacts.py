"""The Prefect UI as a log book, checked through the Prefect API after real runs of the
monitor flow against feeds on 127.0.0.1: per-run artifacts (hits, summary, feed health),
per-rule keyed artifacts updated by each run that hits the rule, readable run names and
tags, and a failing feed shown as a Failed task run with its error and no secret."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from config import load_config
from flows.artifacts import redact, rule_key, rule_slug
from tests.conftest import DEMO_PAGES, rss, write_config

SECRET = "s3cret-token-42"


def test_rule_slug_is_a_valid_prefect_key_for_any_name():
    assert rule_slug("DPRK arms transfer") == "hits-dprk-arms-transfer"
    assert rule_slug("K-pop tours!") == "hits-k-pop-tours"
    assert rule_slug("북한 미사일").startswith("hits-rule-") and rule_slug("북한 미사일") == rule_slug("북한 미사일")
    assert rule_slug("북한 미사일") != rule_slug("북한")


def test_redact_masks_credentials_and_query_strings():
    text = "HTTPStatusError: 404 for https://user:pw@feeds.example/rss.xml?token=abc&x=1 (GET)"
    assert redact(text) == "HTTPStatusError: 404 for https://***@feeds.example/rss.xml?*** (GET)"


def _read(client, key, *flow_run_ids):
    """The artifacts with `key` made by these flow runs (other tests share the Prefect API)."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    return client.read_artifacts(artifact_filter=ArtifactFilter(
        key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=list(flow_run_ids))))


def _table(artifact) -> list[dict]:
    return json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data


@pytest.mark.slow
def test_monitor_parameters_are_sent_as_json_and_other_values_through_prefects_encoder():
    from flows.monitor import monitor

    assert monitor.serialize_parameters({"config_dir": "/srv/config", "shard": 1, "shards": 2}) == {
        "config_dir": "/srv/config", "shard": 1, "shards": 2}
    assert monitor.serialize_parameters({"config_dir": Path("/srv/config")}) == {"config_dir": "/srv/config"}


def test_runs_publish_per_run_and_per_rule_artifacts_and_show_failed_feeds(prefect_harness, site, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.monitor import monitor

    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "South Korea says North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    broken = site.url(f"/gone.xml?token={SECRET}")
    config = write_config(tmp_path / "config", feeds=[
        {"url": site.url("/rss.xml"), "name": "Local Daily", "tags": ["korea"]},
        {"url": broken, "name": "Gone Feed"},
    ])

    first = monitor(config_dir=str(config), return_state=True)
    assert first.is_completed(), first  # a failing feed does not fail the pass
    summary = first.result()
    assert summary.feeds_failed == 1 and summary.hits + summary.baseline_hits >= 1

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(first.state_details.flow_run_id)
        assert run.name.startswith("monitor ") and run.name.endswith(f"{summary.headline()}, 1 of 2 feeds failed")
        assert {"newswatch", "hits", "feed-failures"} <= set(run.tags)
        assert run.parameters == {"config_dir": str(config), "shard": 0, "shards": 1}  # shown in the UI

        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        by_name = {task.name: task for task in tasks}
        failed = by_name["feed failed: Gone Feed"]
        assert failed.state.is_failed() and failed.run_count == 1  # a feed's own trouble is not retried
        assert failed.state.message.startswith("feed Gone Feed: ") and "404" in failed.state.message
        assert SECRET not in failed.state.message
        (poll,) = [task for name, task in by_name.items() if name.startswith("poll 2 feeds")]
        assert poll.state.is_completed() and poll.run_count == 1  # the batch polled both feeds

        hits_md = _read(client, "monitor-hits", run.id)[0].data  # stories, not a wide table
        assert f"]({seed})" in hits_md and "**Rule:** DPRK arms transfer" in hits_md and "**Outlets:** 1 outlet: Local Daily" in hits_md
        summary_md = _read(client, "monitor-summary", run.id)[0].data
        assert "| feeds failed / parked / not due | 1 / 0 / 0 |" in summary_md and SECRET not in summary_md
        health = {row["feed"]: row for row in _table(_read(client, "feed-health", run.id)[0])}
        assert health["Local Daily"]["status"] == "ok" and health["Gone Feed"]["status"] == "failed"
        assert "404" in health["Gone Feed"]["error"] and SECRET not in json.dumps(health)

        key = rule_key("DPRK arms transfer", load_config(config).settings.instance)
        versions = _read(client, key, run.id)
        assert len(versions) == 1 and f"]({seed})" in versions[0].data
        assert "# Rule briefing: DPRK arms transfer" in versions[0].data and "## Volume" in versions[0].data
        assert "by language: " in versions[0].description

    # a second run finds a new article for the same rule: the rule's artifact gets a new version
    second_page = site.add("/news/dprk-2.html", (DEMO_PAGES / "seed_article_divs.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "South Korea says North Korea shipped missiles", "link": seed},
                              {"title": "More on the North's munitions to Russia", "link": second_page}]),
             content_type="application/rss+xml")
    second = monitor(config_dir=str(config), return_state=True)
    assert second.is_completed() and second.result().hits + second.result().baseline_hits >= 1
    with get_client(sync_client=True) as client:
        runs = (first.state_details.flow_run_id, second.state_details.flow_run_id)
        versions = sorted(_read(client, key, *runs), key=lambda artifact: artifact.created)
        assert len(versions) == 2
        latest = versions[-1].data
        assert f"]({seed})" in latest and "1 story among its 2 most recent hits" in latest  # the copy joins its story
        assert versions[-1].flow_run_id == second.state_details.flow_run_id


def test_a_rules_artifact_counts_its_hits_per_language():
    from datetime import datetime, timezone

    from flows.briefing import count_languages
    from store.views import HitView

    def hit(language):
        return HitView(hit_id=1, rule="r", rule_hash="h", url="https://x.example/a", title="t", feed="f",
                       feed_url="https://x.example/rss", published=None, found_at=datetime.now(timezone.utc),
                       terms=(), fields=(), snippet="", marks=(), baseline=False, language=language, flagged=None)

    hits = [hit("ko"), hit("en"), hit("ko"), hit(None)]
    assert count_languages(hits) == "by language: ko 2, en 1, unknown 1"
