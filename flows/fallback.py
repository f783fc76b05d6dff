"""Passes that go on without Prefect, and how the Prefect UI catches up with them.

Alerting never waits on the UI. `unreachable_reason(api_url)` asks the API's health check
for a few seconds (a server that is starting answers within them; a closed port, a dead host
or a wedged server does not) and says why it could not be used. `run_without_prefect` then
runs the very pass the `monitor` flow runs, as `flows.run_pass.run_pass` (no tasks), and
records it in `store.missed`. `publish_missed_runs`, called by the next run that reaches the
API, shows each recorded pass as a flow run of its own (`monitor 2026-12-07 16:05 UTC - 2 hits
(ran without Prefect)`, tagged `ran-without-prefect`) with the artifacts a Prefect run would
have published, so the UI's history has no hole.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from prefect import flow, get_run_logger, tags

from config import load_config
from config.models import Config
from flows.artifacts import publish_pass_artifacts, redact
from flows.briefing import read_briefings
from flows.monitor import monitor, read_hits, run_tags
from flows.prefect_server import (PrefectServerError, configured_port, local_api_url, one_shot_run_settings,
                                  prefect_api)
from flows.run_pass import Shard, run_pass
from flows.stages import FeedOutcome
from flows.summary import FeedOutcomes, PassSummary
from store import database
from store.missed import (claim_missed_runs, count_unpublished, finish_missed_run, read_missed_run,
                          record_missed_run, release_missed_run)

PROBE_SECONDS = 6.0  # how long a health check may keep trying: a starting server answers within it
PROBE_TIMEOUT = httpx.Timeout(3.0, connect=2.0)
MISSED_TAG = "ran-without-prefect"


def unreachable_reason(api_url: str, within: float = PROBE_SECONDS) -> str | None:
    """None when the Prefect API at `api_url` answers its health check; else why it did not,
    after trying for `within` seconds (one try at least)."""
    deadline = time.monotonic() + within
    while True:
        reason = _health_problem(api_url)
        if reason is None or time.monotonic() + 1 > deadline:
            return reason
        time.sleep(1)


def _health_problem(api_url: str) -> str | None:
    """Why one health check failed, or None. Any answer below 500 means a server is there (one
    that asks for credentials included): then Prefect's client is left to use it, or to say
    what is wrong. Only no answer, or a 5xx (a proxy whose server is down), is unreachable."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=PROBE_TIMEOUT, follow_redirects=True,
                             **_client_options(api_url))
    except httpx.TimeoutException:
        return "it did not answer in time"
    except httpx.ConnectError:
        return "the connection was refused or the host is unreachable"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return redact(f"{type(exc).__name__}: {exc}")
    if response.status_code >= 500:
        return f"its health check answered HTTP {response.status_code}"
    return None


def _client_options(api_url: str) -> dict:
    """TLS and proxies as Prefect's client has them: PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_API_SSL_CERT_FILE, and the proxy variables for any host but this one."""
    from prefect.settings import get_current_settings

    api = get_current_settings().api
    verify: bool | ssl.SSLContext = True
    if api.tls_insecure_skip_verify:
        verify = False
    elif api.ssl_cert_file and urlsplit(api_url).scheme == "https":
        verify = ssl.create_default_context(cafile=api.ssl_cert_file)
    loopback = urlsplit(api_url).hostname in ("127.0.0.1", "localhost", "::1")
    return {"verify": verify, "trust_env": not loopback}


def unreachable_line(api_url: str, reason: str, what: str = "this pass") -> str:
    """The one line that says a pass runs without Prefect, and what happens to the UI."""
    return (f"newswatch: Prefect API {redact(api_url)} not reached ({reason}): {what} runs without Prefect "
            "and alerts as usual; the Prefect UI gets its hits on the next run that reaches the API")


def run_without_prefect(config: Config, reason: str, shard: Shard = Shard()) -> PassSummary:
    """One pass of `run_pass` (no Prefect API call), recorded for the UI to catch up."""
    summary = run_pass(config, shard)
    with database(config.settings.database_url) as engine:
        record_missed_run(engine, summary.started_at, summary.finished_at, reason, summary.to_json())
    return summary


def has_missed_runs(config: Config) -> bool:
    with database(config.settings.database_url) as engine:
        return count_unpublished(engine) > 0


def publish_missed_runs(config: Config) -> int:
    """Show every recorded pass that Prefect missed as a flow run with its artifacts, oldest
    first; how many were published. Stops at the first failure (the API went away again):
    that pass and the later ones stay recorded for the next run."""
    config_dir = str(Path(config.directory).resolve())
    published = 0
    with database(config.settings.database_url) as engine:
        # one claimed at a time: a claim that waits behind others' publishing could go stale
        # (STALE_CLAIM) and be claimed, and published, a second time by another publisher
        while claimed := claim_missed_runs(engine, limit=1):
            run = claimed[0]
            summary = summary_from_json(run.summary)
            name = missed_run_name(summary, config.settings.schedule.timezone)
            try:
                with tags(*run_tags(summary, Shard()), MISSED_TAG):
                    state = missed_pass.with_options(flow_run_name=name)(
                        config_dir=config_dir, missed_id=run.missed_id, return_state=True)
            except Exception:  # noqa: BLE001 - the API went away again: keep this pass and the rest for later
                state = None
            if state is None or not state.is_completed():
                release_missed_run(engine, run.missed_id)
                break
            finish_missed_run(engine, run.missed_id, str(state.state_details.flow_run_id))
            published += 1
    return published


def missed_run_name(summary: PassSummary, zone: str) -> str:
    """`monitor 2026-12-07 16:05 Asia/Seoul - 2 hits (ran without Prefect)`: when the pass ran,
    in the schedule's timezone, like the names of the runs Prefect saw."""
    when = summary.started_at.astimezone(ZoneInfo(zone))
    return f"monitor {when:%Y-%m-%d %H:%M} {zone} - {summary.run_title()} (ran without Prefect)"


@flow(name="monitor", log_prints=True)
def missed_pass(config_dir: str, missed_id: int) -> None:
    """The Prefect run of a pass that ran without the API: its artifacts, from the store."""
    config = load_config(config_dir)
    with database(config.settings.database_url) as engine:
        run = read_missed_run(engine, missed_id)
    summary = summary_from_json(run.summary)
    hits, history = read_hits(config.settings.database_url, summary.hit_ids)
    briefings = read_briefings(config.settings.database_url, history) if history else {}
    publish_pass_artifacts(summary, hits, history, briefings=briefings, instance=config.settings.instance)
    # one line, not the summary again: in the terminal of the run that publishes it, a second
    # summary read as alerts sent twice (they were sent once, when the pass ran)
    get_run_logger().info("this pass ran at %s without Prefect (%s) and is published now: %s "
                          "(its alerts went out when it ran; the monitor-summary artifact has its summary)",
                          f"{summary.started_at:%Y-%m-%d %H:%M:%S %Z}", run.reason, summary.headline_line())


def summary_from_json(data: dict) -> PassSummary:
    """The PassSummary that `PassSummary.to_json` wrote (feeds, counts and times)."""
    values = {f.name: data[f.name] for f in fields(PassSummary) if f.name in data}
    values["started_at"] = datetime.fromisoformat(values["started_at"])
    values["finished_at"] = _datetime(values.get("finished_at"))
    names = [f.name for f in fields(FeedOutcome)]
    values["feeds"] = FeedOutcomes(
        FeedOutcome(**{name: feed[name] for name in names if name in feed} | {"next_poll_at": _datetime(feed.get("next_poll_at"))})
        for feed in values.get("feeds", []))
    return PassSummary(**values)


def _datetime(value) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def monitor_or_without_prefect(config: Config, home: Path, say: Callable[[str], None],
                               on_api: Callable[[str], None] = lambda api_url: None) -> PassSummary:
    """`newswatch run`'s pass: the `monitor` flow when the Prefect API (configured, or the local
    server kept in `home`) answers, then the passes it missed are published; otherwise, or when
    the API is lost during the flow, the pass without Prefect, announced by one line to `say`.
    PrefectApiError other than an unreachable API (a server of another major version) is raised."""
    config_dir = str(Path(config.directory).resolve())
    api_url = local_server_url()
    try:
        with prefect_api(home) as api_url, one_shot_run_settings():
            reason = unreachable_reason(api_url)
            if reason is None:
                on_api(api_url)
                side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="missed-runs")
                missed = side.submit(has_missed_runs, config)  # asked beside the run's start, off its path
                side.shutdown(wait=False)
                try:
                    summary = monitor(config_dir=config_dir)
                except Exception:
                    reason = unreachable_reason(api_url)
                    if reason is None:
                        raise
                    reason = f"lost during the pass: {reason}"
                else:
                    catch_up_ui(config, say, missed.result)
                    return summary
    except PrefectServerError as exc:
        reason = str(exc).splitlines()[0]
    say(unreachable_line(api_url, reason))
    if reason.startswith("lost during the pass"):
        say("newswatch: the pass that lost the API may already have stored hits and sent their alerts (never twice); "
            "this summary counts only what the pass without Prefect found: `newswatch hits --since 1h` lists them all")
    return run_without_prefect(config, reason)


def local_server_url() -> str:
    try:
        return local_api_url(configured_port())
    except PrefectServerError:
        return "of the local Prefect server"


def catch_up_ui(config: Config, say: Callable[[str], None], any_missed: Callable[[], bool] | None = None) -> int:
    """Publish the passes the UI missed, if any (`any_missed` tells, else the store is asked);
    a failure only leaves them to the next run that reaches the API."""
    try:
        if not (any_missed or (lambda: has_missed_runs(config)))():
            return 0
        published = publish_missed_runs(config)
        left = has_missed_runs(config)
    except Exception as exc:  # noqa: BLE001 - never fails the pass that already ran
        say(f"newswatch: the passes that ran without Prefect are not published yet ({type(exc).__name__}: "
            f"{redact(str(exc))}); the next run that reaches the API tries again")
        return 0
    say(f"newswatch: published {published} pass(es) that ran without Prefect to the Prefect UI"
        + (" (the others wait for the next run)" if left else ""))
    return published
