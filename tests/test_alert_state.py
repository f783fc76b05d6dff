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

    from flows.artifacts import rule_slug
    from flows.monitor import monitor
    from tests.test_prefect_artifacts import _read, _table

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
    with get_client(sync_client=True) as client:
        tables = {"monitor-hits": _table(_read(client, "monitor-hits", run_id)[0])}
        tables.update({rule: _table(_read(client, rule_slug(rule), run_id)[0]) for rule in rules})
    for key, table in tables.items():
        alerted = [row["alerted"] for row in table]
        assert alerted and not any(value.startswith("yes") for value in alerted), key
    alerted = sorted(row["alerted"] for row in tables["monitor-hits"])
    assert sum(value == "not alerted: copy of a story already alerted" for value in alerted) == 3
    assert sum(value.startswith("failed on broken (retrying") and "500" in value for value in alerted) == 1
    assert alerted.count("not alerted: no channel configured for the rule") == 1
    assert sum(value.startswith("sent ") and value.endswith(" UTC to good") for value in alerted) == 1
    assert {row["alerted"].split(" ")[0] for row in tables["Silent"]} == {"not"}


def delivery(status: str, **fields) -> ChannelDelivery:
    return ChannelDelivery(channel=fields.pop("channel", "hook"), status=status, **fields)


def test_alert_state_is_one_decision_with_a_reason_for_every_unsent_hit():
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)

    def decide(deliveries=(), *, baseline=False, backfilled=False, claimed_by=None):
        return decide_alert_state(list(deliveries), hit_id=7, baseline=baseline, backfilled=backfilled,
                                  story_claimed_by=claimed_by)

    assert decide(baseline=True, claimed_by=3).reason == "first_poll"
    assert decide(claimed_by=3) == AlertState("not_alerted", "grouped", grouped_with=3)
    assert decide(backfilled=True).reason == "backfilled"
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
