"""Run one newswatch pass in this process and print what it cost, as one JSON line.

Run by bench/pipeline.py (one process per pass, so each pass starts cold like a cron run):

    python bench/pipeline_pass.py cli|coarse|direct CONFIG_DIR [--time-deliver]

  cli     `newswatch run --config DIR --json` (the Prefect flow; PREFECT_API_URL from the
          environment), called through newswatch.cli.main
  coarse  the same, with the feeds polled by one Prefect task instead of one task per feed
          (an experiment: what coarser tasks would save)
  direct  flows.run_pass.run_pass(load_config(DIR)): the same stages, no Prefect (its summary
          printed and read back as in cli mode)
Imports are done before the clock starts; the pass itself (config load included) is
timed. CPU is user+system of this process and every descendant (live or reaped).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICK = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                frontier.append(child)
    return found


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def own_cpu() -> float:
    """CPU of this process alone (the pass's threads; the worker processes are not in it)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def tree_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    live = sum(proc_cpu(pid) for pid in descendants(os.getpid()))
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + live


def run_cli(config_dir: str) -> dict:
    from newswatch.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", "--config", config_dir, "--json"])
    if code != 0:
        raise SystemExit(f"newswatch run exited {code}: {out.getvalue()[-2000:]}")
    return json.loads(out.getvalue())


def use_coarse_poll_task() -> None:
    """The experiment behind the report's proposal: the same flow, but the feeds are polled
    by ONE task (threads inside) instead of one task per POLL_BATCH feeds."""
    import flows.run_pass

    flows.run_pass.POLL_BATCH = 10**9


def run_direct(config_dir: str, time_deliver: bool, timings: dict) -> dict:
    import flows.run_pass
    from config import load_config

    deliver = flows.run_pass.deliver_alerts

    def timed_deliver(ctx):
        start = time.perf_counter()
        try:
            return deliver(ctx)
        finally:
            timings["deliver_seconds"] = time.perf_counter() - start

    if time_deliver:
        flows.run_pass.deliver_alerts = timed_deliver
    summary = flows.run_pass.run_pass(load_config(config_dir))
    return _through_cli_output(summary.to_json())


def _through_cli_output(data: dict) -> dict:
    """The summary printed and read back as `run_cli` does with `newswatch run --json`, so the
    two modes differ by Prefect alone, not by the CLI's output (tens of ms at 1,000 feeds)."""
    from newswatch.commands import print_json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_json(data)
    return json.loads(out.getvalue())


def main(argv: list[str]) -> None:
    mode, config_dir = argv[0], argv[1]
    import flows.monitor  # noqa: F401 - imports before the clock (prefect is the big one)
    import newswatch.commands  # noqa: F401

    timings: dict = {}
    cpu0, own0, wall0 = tree_cpu(), own_cpu(), time.perf_counter()
    if mode == "coarse":
        use_coarse_poll_task()
    summary = run_direct(config_dir, "--time-deliver" in argv, timings) if mode == "direct" else run_cli(config_dir)
    wall, cpu, own = time.perf_counter() - wall0, tree_cpu() - cpu0, own_cpu() - own0
    print(json.dumps({"wall": wall, "cpu": cpu, "cpu_main": own, "summary": summary, **timings}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
