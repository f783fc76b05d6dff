"""Every hit says truly where its alert stands: `hits --json` (key `alert`), `hits` and the
Prefect artifacts (read back through the Prefect API) after a real monitor run whose hits
went to a working channel, a failing channel, no channel at all, and a syndicated copy."""

from __future__ import annotations

import json

from store.alertstate import AlertState, ChannelDelivery, decide_alert_state
from tests.localservers import WebhookReceiver
from tests.rules_support import publish, run_cli
from tests.conftest import write_config

RULES = """
rules:
  - name: Delivered
    query: 'factor*'
    channels: [good]
  - name: Failing
    query: 'factor*'
    channels: [broken]
  - name: Silent
    query: 'factor*'
    channels: []
"""


def alert_config(tmp_path, site, good: WebhookReceiver, broken: WebhookReceiver):
    """One story run by two outlets (the wire copy is the same page), three rules that hit it."""
    publish(site, "/rss.xml", slugs=("drone-factory",))
    publish(site, "/wire.xml", slugs=("drone-factory",), prefix="/wire/")
    return write_config(tmp_path / "config", rules=RULES,
                        feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"},
                               {"url": site.url("/wire.xml"), "name": "Wire"}],
                        channels={"good": {"url": good.apprise_url()}, "broken": {"url": broken.apprise_url()}})


def by_rule(hits: list[dict]) -> dict[str, list[dict]]:
    """rule -> its two hits, the one that holds the story first, its grouped copy second."""
    rules: dict[str, list[dict]] = {}
    for hit in hits:
        rules.setdefault(hit["rule"], []).append(hit)
    return {rule: sorted(pair, key=lambda hit: hit["alert"]["state"] == "not_alerted"
                         and hit["alert"]["reason"] == "grouped") for rule, pair in rules.items()}


def test_hits_and_artifacts_tell_sent_failed_no_channel_and_grouped_apart(prefect_harness, site, webhook,
                                                                          tmp_path, capsys):
    from prefect.client.orchestration import get_client

    from config import load_config
    from flows.artifacts import rule_key
    from flows.monitor import monitor
    from tests.test_prefect_artifacts import _read

    webhook.status = 500  # the failing channel
    good = WebhookReceiver()
    try:
        config = alert_config(tmp_path, site, good, webhook)
        state = monitor(config_dir=str(config), return_state=True)
        assert state.is_completed(), state
        assert len(good.received) == 1
    finally:
        good.close()

    code, out, err = run_cli(capsys, "hits", "--config", str(config), "--json")
    assert code == 0, err
    rules = by_rule(json.loads(out))
    assert set(rules) == {"Delivered", "Failing", "Silent"} and all(len(pair) == 2 for pair in rules.values())
    for first, copy in rules.values():
        assert copy["alert"] == {"state": "not_alerted", "reason": "grouped", "at": None, "channels": [],
                                 "error": None, "grouped_with": first["hit_id"]}
        assert copy["url"] != first["url"] and copy["story"] == first["story"]
    sent, failed, silent = rules["Delivered"][0]["alert"], rules["Failing"][0]["alert"], rules["Silent"][0]["alert"]
    assert sent["state"] == "sent" and sent["channels"] == ["good"] and sent["at"].endswith("Z")
    assert failed["state"] == "failed" and failed["reason"] == "retrying" and failed["channels"] == ["broken"]
    assert "500" in failed["error"] and failed["at"] is not None
    assert silent == {"state": "not_alerted", "reason": "no_channel", "at": None, "channels": [], "error": None,
                      "grouped_with": None}

    code, out, _ = run_cli(capsys, "hits", "--config", str(config))
    assert "alert: failed on broken (retrying" in out and "alert: not alerted: no channel configured" in out
    assert out.count("alert: not alerted: copy of a story already alerted") == 3 and "alert: sent " in out

    run_id = state.state_details.flow_run_id
    instance = load_config(config).settings.instance
    with get_client(sync_client=True) as client:
        shown = {key: alert_texts(_read(client, key, run_id)[0])
                 for key in ("monitor-hits", *(rule_key(rule, instance) for rule in rules))}
    for key, texts in shown.items():
        assert texts and not any(text.startswith("yes") for text in texts), key
    run = shown["monitor-hits"]
    assert sum(text.startswith("failed on broken (retrying") and "500" in text for text in run) == 1
    assert sum(text.startswith("not alerted: no channel configured for the rule") for text in run) == 1
    assert sum(text.startswith("sent ") and " UTC to good" in text for text in run) == 1
    grouped = [text for text in run if "copy of a story already alerted" in text or "1 copy grouped with it" in text]
    assert len(grouped) == 3  # each rule's copy: listed as grouped, or folded into its story with that note
    silent = shown[rule_key("Silent", instance)]
    assert all(text.startswith("not alerted: ") for text in silent)
    assert any(text.startswith("not alerted: no channel configured") for text in silent)


def alert_texts(artifact) -> list[str]:
    """The alert state shown for each row (a table's `alerted` column) or story (a markdown
    artifact's `Alert:` lines, markdown escapes removed)."""
    from tests.test_prefect_artifacts import _table

    if artifact.type == "table":
        return [row["alerted"] for row in _table(artifact)]
    text = artifact.data.replace("\\", "")
    return [line.split("**Alert:**", 1)[1].strip() for line in text.splitlines() if "**Alert:**" in line]


def delivery(status: str, **fields) -> ChannelDelivery:
    return ChannelDelivery(channel=fields.pop("channel", "hook"), status=status, **fields)


def test_alert_state_is_one_decision_with_a_reason_for_every_unsent_hit():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)

    def decide(deliveries=(), *, baseline=False, backfilled=False, claimed_by=None, imported=False):
        return decide_alert_state(list(deliveries), hit_id=7, baseline=baseline, backfilled=backfilled,
                                  story_claimed_by=claimed_by, imported=imported)

    assert decide(baseline=True, claimed_by=3).reason == "first_poll"
    assert decide(claimed_by=3) == AlertState("not_alerted", "grouped", grouped_with=3)
    assert decide(backfilled=True).reason == "backfilled"
    assert decide(imported=True).reason == "imported" and decide(imported=True, claimed_by=7).reason == "no_channel"
    assert decide(backfilled=True, claimed_by=7).reason == "no_channel"  # backfill --alert, rule without channel
    assert decide(claimed_by=7).reason == "no_channel"
    held = delivery("pending", created_at=now, next_attempt_at=now + timedelta(minutes=30))
    assert decide([held]) == AlertState("pending", "cooldown", at=now + timedelta(minutes=30), channels=("hook",))
    assert decide([delivery("pending", created_at=now, next_attempt_at=now)]).reason == "queued"
    mixed = [delivery("sent", channel="mail", sent_at=now),
             delivery("dead", channel="hook", attempts=8, last_error="HTTP 500")]
    assert decide(mixed) == AlertState("failed", "gave_up", channels=("hook",), error="HTTP 500")
    both = [delivery("sent", channel="mail", sent_at=now),
            delivery("summarized", channel="hook", sent_at=now + timedelta(seconds=5))]
    assert decide(both) == AlertState("sent", at=now + timedelta(seconds=5), channels=("hook", "mail"))


def test_a_story_listed_once_shows_its_alert_and_its_grouped_copies():
    from datetime import datetime, timezone

    from store.views import HitView, story_alert_text

    def hit(hit_id, alert):
        return HitView(hit_id=hit_id, rule="r", rule_hash="h", url=f"https://e.org/{hit_id}", title="t", feed="f",
                       feed_url="https://e.org/rss", published=None, found_at=datetime.now(timezone.utc), terms=(),
                       fields=(), snippet="", marks=(), baseline=False, language=None, flagged=None, alert=alert)

    failed = AlertState("failed", "gave_up", channels=("hook",), error="HTTP 500")
    copy = AlertState("not_alerted", "grouped", grouped_with=1)
    assert story_alert_text([hit(2, copy), hit(1, failed)]) == \
        "failed on hook (gave up): HTTP 500; 1 copy grouped with it, not alerted again"
    assert story_alert_text([hit(3, AlertState("not_alerted", "no_channel"))]) == \
        "not alerted: no channel configured for the rule"
