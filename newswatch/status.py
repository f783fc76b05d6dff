"""`newswatch status [--json]`: is the monitor working? Exit 0 when nothing needs attention,
1 when it is stalled, a health incident is open (every feed failed, a feed silent) or a
feed is parked, 2 when the configuration is invalid."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from newswatch.commands import EXIT_BAD_CONFIG, EXIT_FAILED, EXIT_OK, load_or_report, print_json


def cmd_status(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return EXIT_BAD_CONFIG
    from flows.status import collect_status

    status = collect_status(config)
    if args.json:
        print_json(status)
    else:
        print(render_status(status, config.settings.watchdog.missed_passes))
    attention = status["stalled"] or status["incidents"] or status["feeds"]["parked"]
    return EXIT_FAILED if attention else EXIT_OK


def render_status(status: dict, missed_passes: int) -> str:
    lines = [_last_pass(status["last_completed_pass"]), _next_pass(status)]
    if status["stalled"]:
        lines.append(f"STALLED: no pass completed for {missed_passes} scheduled intervals: is `newswatch serve` "
                     "(or its cron/systemd job) running?")
    feeds = status["feeds"]
    lines.append(f"feeds: {feeds['total']} configured, {len(feeds['failing'])} failing, {len(feeds['parked'])} parked, "
                 f"{len(feeds['silent'])} silent")
    lines += [f"  failing  {f['name']} ({f['url']}): {f['last_error']} ({f['errors_in_a_row']} in a row)"
              for f in feeds["failing"]]
    lines += [f"  parked   {f['name']} ({f['url']}): {f['last_error']}" for f in feeds["parked"]]
    lines += [f"  silent   {f['name']} ({f['url']}): nothing new since {_when(f['last_item_at'])}, "
              f"usually every {f['usual_gap_hours']} hours" for f in feeds["silent"]]
    if any(incident["key"].startswith("all_feeds_failed") for incident in status["incidents"]):
        lines.append("EVERY FEED FAILED in the last pass: check this machine's network")
    alerts, notices = status["alerts"], status["operator_notices"]
    lines.append(f"alerts: {alerts['pending']} pending, {alerts['dead']} dead; operator notices: "
                 f"{notices['pending']} pending, {notices['dead']} dead, {notices['unrouted']} unrouted"
                 + (" (no `operator` channel in channels.yaml)" if notices["unrouted"] else ""))
    api = status["prefect_api"]
    lines.append(f"Prefect API: {api['url'] or '-'} ({api['source']}, "
                 f"{'reachable' if api['reachable'] else 'NOT reachable'})")
    return "\n".join(lines)


def _next_pass(status: dict) -> str:
    """When `serve` would run the next pass, in UTC and in the schedule's own zone."""
    zone = status["timezone"]
    at = _parse(status["next_scheduled_pass"])
    local = "" if zone == "UTC" else f" = {at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone}"
    return (f"next scheduled pass, when `newswatch serve` runs it: {_when(at).replace(' UTC', f' UTC{local}', 1)}"
            f"; {status['schedule']}")


def _parse(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _last_pass(last: dict | None) -> str:
    if last is None:
        return "last completed pass: none yet (run `newswatch run` or `newswatch serve`)"
    return (f"last completed pass: {_when(last['finished_at'])}, {last['feeds_polled']} feeds polled, "
            f"{last['feeds_failed']} failed")


def _when(value) -> str:
    if value is None:
        return "-"
    at = _parse(value).astimezone(timezone.utc)
    return f"{at:%Y-%m-%d %H:%M} UTC ({_relative(round((datetime.now(timezone.utc) - at).total_seconds() / 60))})"


def _relative(minutes_ago: int) -> str:
    if minutes_ago < 0:
        return f"in {-minutes_ago} min" if minutes_ago > -120 else f"in {-minutes_ago / 60:.1f} h"
    return f"{minutes_ago} min ago" if minutes_ago < 120 else f"{minutes_ago / 60:.1f} h ago"
