"""Three shard workers against one PostgreSQL: the same hits and alerts as one worker, measured.

Run: source .ci/postgres.sh; start_test_postgres   # or any PostgreSQL you own
     nice python bench/shards.py [--feeds 3000] [--hosts 200] [--change-every 50] [--per-bump 2]
                                 [--postgres-url URL]

What runs, all real and on this machine:
  - the publishers of bench/many_feeds_site.py: FEEDS feeds on HOSTS loopback hosts, 50 ms per
    response; one feed in CHANGE_EVERY gets PER_BUMP new items (distinct real news pages) when
    the site is bumped;
  - a local Prefect server (started here), the process work pool `newswatch-process`, the
    repository's own deployments `monitor-process` and `monitor-shard-0..2` (`prefect deploy`
    from the repository root, as the README says; their schedules paused), and three
    `prefect worker start --pool newswatch-process --limit 1` processes (one run at a time each);
  - one PostgreSQL server with two databases: one for the single worker's config, one for the
    shards' config (identical but for the database and the alert channel);
  - two webhook receivers (apprise json://), one per config, counting every alert received.
Steps: the baseline pass of both configs (a run of `monitor-process`; a run of each shard),
the site bumped, then the news pass: one `monitor-process` run alone (one worker), then the
three shard runs created at once (taken by the three workers). Printed: each news run's wall
time (Prefect's start and end), its worker, and whether the shards overlapped; the stored hits
(rule, url) and alerts (count and titles) of both, compared. Exits non-zero if they differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.many_feeds import Databases, bump, feed_urls, publishers, write_config  # noqa: E402
from bench.pipeline import create_database, load_average, pass_env, prefect_server  # noqa: E402

PREFECT = str(Path(sys.executable).with_name("prefect"))
POOL = "newswatch-process"
SHARDS = 3


def prefect_cli(env: dict, *args: str) -> None:
    done = subprocess.run([PREFECT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"bench: prefect {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def deploy(env: dict, client) -> dict[str, object]:
    """The README's pool and the repository's deployments, schedules paused (runs are made here)."""
    prefect_cli(env, "work-pool", "create", POOL, "--type", "process")
    prefect_cli(env, "deploy", "--name", "monitor-process")
    prefect_cli(env, "deploy", "--name", "monitor-shard-*")
    names = ["monitor-process"] + [f"monitor-shard-{k}" for k in range(SHARDS)]
    deployments = {name: client.read_deployment_by_name(f"monitor/{name}") for name in names}
    for deployment in deployments.values():
        client.pause_deployment(deployment.id)
    for run in client.read_flow_runs():
        if run.state_type.value == "SCHEDULED":
            client.delete_flow_run(run.id)
    return deployments


def start_workers(env: dict, workdir: Path, stack: ExitStack) -> list[Path]:
    logs = []
    for k in range(SHARDS):
        log = workdir / f"worker-{k}.log"
        process = subprocess.Popen([PREFECT, "worker", "start", "--pool", POOL, "--limit", "1", "--name", f"worker-{k}"],
                                   cwd=ROOT, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        stack.callback(stop, process)
        logs.append(log)
    return logs


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_and_wait(client, runs: list[tuple[object, dict]], timeout: float = 900) -> list:
    """Create a flow run of each (deployment, parameters) at once; wait until all are final."""
    ids = [client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id
           for deployment, parameters in runs]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = [client.read_flow_run(run_id) for run_id in ids]
        if all(run.state and run.state.is_final() for run in finished):
            failed = [run for run in finished if run.state_type.value != "COMPLETED"]
            if failed:
                raise SystemExit(f"bench: runs did not complete: {[(r.name, r.state) for r in failed]}")
            return finished
        time.sleep(1.0)
    raise SystemExit("bench: the runs did not finish in time (are the workers up?)")


def worker_of(run_id, logs: list[Path]) -> str:
    """The worker that ran this run: workers race for a scheduled run, each logs "submitting
    flow run 'ID'", and all but the one that got it log "Aborted submission of flow run 'ID'"."""
    texts = {log.stem: log.read_text(errors="replace") for log in logs}
    return "+".join(name for name, text in texts.items() if f"submitting flow run '{run_id}'" in text
                    and f"Aborted submission of flow run '{run_id}'" not in text) or "?"


def stored_hits(database_url: str) -> set[tuple[str, str]]:
    from store import list_hits, open_database

    engine = open_database(database_url)
    try:
        return {(hit.rule, hit.url) for hit in list_hits(engine)}
    finally:
        engine.dispose()


def pending(database_url: str) -> int:
    from store import delivery_counts, open_database

    engine = open_database(database_url)
    try:
        return delivery_counts(engine).get("pending", 0)
    finally:
        engine.dispose()


def describe(runs: list, logs: list[Path]) -> str:
    return "; ".join(f"{run.name} on {worker_of(run.id, logs)}: {(run.end_time - run.start_time).total_seconds():.1f} s"
                     for run in runs)


def overlap(runs: list) -> float:
    """Seconds during which all the runs were running at once."""
    return max(0.0, (min(r.end_time for r in runs) - max(r.start_time for r in runs)).total_seconds())


def main(argv: list[str] | None = None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.localservers import WebhookReceiver

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=3000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--change-every", type=int, default=50)
    parser.add_argument("--per-bump", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--postgres-url", default=os.environ.get("NEWSWATCH_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="newswatch-shards-"))
    databases = Databases(args.postgres_url)
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        stack.callback(databases.drop_all)
        port = stack.enter_context(publishers(args))
        api_url, _pid = stack.enter_context(prefect_server(workdir))
        hooks = {name: WebhookReceiver() for name in ("one", "shards")}
        for hook in hooks.values():
            stack.callback(hook.close)
        configs, urls = {}, {}
        for name, hook in hooks.items():
            directory = workdir / name
            directory.mkdir()
            urls[name] = databases.url("postgresql", directory)
            write_config(directory, feed_urls(port, args.feeds, args.hosts), urls[name], args.concurrency)
            (directory / "settings.yaml").write_text((directory / "settings.yaml").read_text()
                                                     + "alerts:\n  max_per_channel_per_run: 100000\n")
            (directory / "channels.yaml").write_text(f"channels:\n  hook:\n    url: \"{hook.apprise_url()}\"\n")
            create_database(directory, pass_env(None))
            configs[name] = str(directory)
        env = {**pass_env(api_url), "PREFECT_CLI_PROMPT": "false", "PREFECT_WORKER_QUERY_SECONDS": "1"}
        stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api_url}))
        client = stack.enter_context(get_client(sync_client=True))
        deployments = deploy(env, client)
        logs = start_workers(env, Path(tempfile.mkdtemp(prefix="newswatch-shards-workers-")), stack)
        whole = (deployments["monitor-process"], {"config_dir": configs["one"]})
        shards = [(deployments[f"monitor-shard-{k}"], {"config_dir": configs["shards"], "shard": k, "shards": SHARDS})
                  for k in range(SHARDS)]

        baseline = run_and_wait(client, [whole, *shards])
        print(f"baseline ({args.feeds} feeds, every feed 200 and empty): {describe(baseline, logs)}; "
              f"load {load_average()}", flush=True)
        generation = bump(port)
        one = run_and_wait(client, [whole])
        print(f"news pass (generation {generation}), one worker: {describe(one, logs)}; load {load_average()}",
              flush=True)
        three = run_and_wait(client, shards)
        print(f"news pass, three shard workers at once: {describe(three, logs)}; all three running together "
              f"for {overlap(three):.1f} s; load {load_average()}", flush=True)

        hits = {name: stored_hits(urls[name]) for name in hooks}
        alerts = {name: Counter(item.get("title", "") for item in hook.received) for name, hook in hooks.items()}
        waiting = {name: pending(urls[name]) for name in hooks}
        same_hits, same_alerts = hits["one"] == hits["shards"], alerts["one"] == alerts["shards"]
        print(f"stored hits: one worker {len(hits['one'])}, three shards {len(hits['shards'])}; identical (rule, url) "
              f"sets: {same_hits}")
        print(f"alerts received: one worker {sum(alerts['one'].values())}, three shards "
              f"{sum(alerts['shards'].values())}; identical titles and counts: {same_alerts}; pending after: "
              f"{waiting['one']} / {waiting['shards']}")
        print(f"load average at the end: {load_average()}; the workers' logs are in {logs[0].parent}")
        if not (same_hits and same_alerts and hits["one"] and not any(waiting.values())):
            print(f"DIFFERENT: hits only in one {sorted(hits['one'] - hits['shards'])[:5]}, only in shards "
                  f"{sorted(hits['shards'] - hits['one'])[:5]}; alerts {alerts['one'] - alerts['shards']} / "
                  f"{alerts['shards'] - alerts['one']}")
            raise SystemExit(1)


if __name__ == "__main__":
    main()
