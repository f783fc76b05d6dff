"""Prefect's own dead-man's switch for `newswatch serve`: told while nothing runs at all.

A pass can only notice a stall once a pass runs again (`flows.watchdog`). When `serve` uses
a Prefect server and `watchdog.prefect_notification_block` names a notification block
("block-type/name", made in the Prefect UI: Slack, Teams, e-mail, custom webhook...),
`register_stall_watch` creates or updates the automation AUTOMATION_NAME: a proactive
trigger that starts after a run of the monitor deployment completes and expects another
completion within `missed_passes` intervals and a half; when none comes, the Prefect
server itself sends the block's notification, once (the trigger re-arms on the next
completed run). The monitor deployment then carries STALL_WATCH_TAG, and its passes record
stalls without telling them a second time; the pass that completes after one tells
the recovery through the outbox (Prefect's open-source server has no "resolved" action
for event triggers). Without a block, `serve` removes the automation a former setting made.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from uuid import UUID

import httpx

from prefect.client.orchestration import get_client
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

from config.models import Config
from flows.prefect_client import PrefectApiError
from flows.watchdog import schedule_interval

AUTOMATION_NAME = "newswatch: no completed pass"
COMPLETED = "prefect.flow-run.Completed"
log = logging.getLogger("newswatch.serve")


class StallWatchError(PrefectApiError):
    """The configured notification block cannot be used; the message says what to fix."""


def stall_window(config: Config) -> timedelta:
    """How long after a completed run another must complete: `missed_passes` intervals and a half."""
    interval = schedule_interval(config.settings.schedule, datetime.now(timezone.utc))
    return interval * config.settings.watchdog.missed_passes + interval / 2


def stall_automation(deployment_id: UUID, block_document_id: UUID, within: timedelta, missed: int) -> AutomationCore:
    trigger = EventTrigger(
        posture=Posture.Proactive,
        after={COMPLETED},
        expect={COMPLETED},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.id": f"prefect.deployment.{deployment_id}"},
        # one window per deployment, opened only by a completed run: without `for_each` the
        # server opens a new window after every one that fired, and tells the stall again each time
        for_each={"related:deployment:prefect.resource.id"},
        threshold=1,
        within=within,
    )
    action = SendNotification(
        block_document_id=block_document_id,
        subject="[newswatch] operator: monitor stalled: no pass completed",
        body=(f"No run of the newswatch monitor deployment completed within {within} of the last one "
              f"(more than {missed} scheduled intervals): no feed is polled and no alert sent. Check the "
              "`newswatch serve` process and its log. You will be told when a pass completes again."),
    )
    return AutomationCore(name=AUTOMATION_NAME, description="newswatch's dead-man's switch (flows/stall_automation.py)",
                          trigger=trigger, actions=[action], tags=["newswatch"])


def register_stall_watch(config: Config, deployment_id: UUID, within: timedelta | None = None) -> UUID | None:
    """Create or update the automation for `deployment_id`; its id, or None when no block is configured."""
    block = config.settings.watchdog.prefect_notification_block
    if not block:
        return None
    block_type, _, name = block.partition("/")
    automation = stall_automation(deployment_id, _block_id(block_type, name), within or stall_window(config),
                                  config.settings.watchdog.missed_passes)
    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(AUTOMATION_NAME)
        if not existing:
            return client.create_automation(automation)
        client.update_automation(existing[0].id, automation)
        for duplicate in existing[1:]:
            client.delete_automation(duplicate.id)
        return existing[0].id


def remove_stall_watch() -> int:
    """Delete the automation (serve without a block: passes tell stalls themselves, Prefect must
    not tell them a second time); how many there were."""
    try:
        with get_client(sync_client=True) as client:
            existing = client.read_automations_by_name(AUTOMATION_NAME)
            for automation in existing:
                client.delete_automation(automation.id)
    except (httpx.HTTPError, PrefectHTTPStatusError) as exc:  # tidying only: never what stops serve
        log.warning("could not check for a former stall automation on the Prefect API: %s", exc)
        return 0
    return len(existing)


def _block_id(block_type: str, name: str) -> UUID:
    with get_client(sync_client=True) as client:
        try:
            document = client.read_block_document_by_name(name, block_type, include_secrets=False)
        except ObjectNotFound:
            raise StallWatchError(
                f"settings.yaml watchdog.prefect_notification_block: no block {block_type}/{name} on this Prefect "
                "server. Create it in the Prefect UI (Blocks, e.g. a Slack Webhook or Custom Webhook), or remove "
                "the setting to rely on the check at the start of each pass.") from None
    return document.id
