"""Storm control and cooldowns: which due deliveries of one channel go out how, this run.

Pure: `plan_channel` takes the channel's due jobs (oldest first) and returns a `Plan`:
messages to send (a single hit, or a rule's hits batched after its cooldown), jobs to
hold until a rule's cooldown ends, and the overflow past the per-run cap that goes out
as ONE summary message. Nothing is dropped: every job lands in exactly one of the three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from store import DeliveryJob


@dataclass
class Plan:
    messages: list[list[DeliveryJob]] = field(default_factory=list)  # each: one message
    held: dict[datetime, list[DeliveryJob]] = field(default_factory=dict)  # until -> jobs
    overflow: list[DeliveryJob] = field(default_factory=list)  # one summary message


def plan_channel(
    jobs: Sequence[DeliveryJob],
    cap: int,
    *,
    now: datetime,
    cooldowns: Mapping[str, timedelta] | None = None,
    last_alerts: Mapping[str, datetime | None] | None = None,
) -> Plan:
    """Split one channel's due jobs into messages (at most `cap`), held jobs and overflow."""
    cooldowns, last_alerts = cooldowns or {}, last_alerts or {}
    plan, batches = Plan(), {}
    for job in jobs:
        rule = job.hit.rule
        if rule not in cooldowns:
            plan.messages.append([job])
            continue
        last = last_alerts.get(rule)
        if last is not None and now < last + cooldowns[rule]:
            plan.held.setdefault(last + cooldowns[rule], []).append(job)
        elif rule in batches:
            batches[rule].append(job)
        else:
            batches[rule] = [job]
            plan.messages.append(batches[rule])
    plan.overflow = [job for message in plan.messages[cap:] for job in message]
    plan.messages = plan.messages[:cap]
    return plan
