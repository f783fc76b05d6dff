"""Monitoring passes (`flows.run_pass`, no Prefect) in processes of their own, for the tests
that start passes as subprocesses (overlapping runs, the crash harness).

    python -m tests.pass_runner CONFIG_DIR [GO_FILE]
        one pass; with GO_FILE, prints "ready" once imported and waits for that file to
        exist, so several processes start the pass at the same moment; prints the summary
        as JSON.
    python -m tests.pass_runner --serve
        a fork server: imports everything once, then for each line "run CONFIG_DIR" on stdin
        forks a child in a process group of its own that runs one pass, prints
        "started PID", and "ended PID EXIT_CODE" when the child is gone (killed or not), so
        the crash harness spends its kills on passes, not on Python start-up.

Warnings (e.g. the relay's "possible redelivery") and each pass's summary go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path


def run_one(config_dir: str) -> dict:
    from config import load_config
    from flows.run_pass import run_pass

    summary = run_pass(load_config(config_dir))
    return {"new_articles": summary.new_articles, "alerts_sent": summary.alerts_sent,
            "alerts_failed": summary.alerts_failed}


def serve() -> None:
    import flows.run_pass  # noqa: F401  (imported once, before any fork)

    for line in sys.stdin:
        command, _, config_dir = line.strip().partition(" ")
        if command != "run":
            break
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            code = 0
            try:
                print("summary " + json.dumps(run_one(config_dir)), file=sys.stderr, flush=True)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stderr.flush()
                os._exit(code)
        try:
            os.setpgid(pid, pid)  # before anyone is told the pid, so killpg always finds the group
        except OSError:
            pass  # the child got there first
        print(f"started {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"ended {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    if argv[0] == "--serve":
        serve()
        return
    from flows import run_pass  # noqa: F401  (import before saying ready)

    if len(argv) > 1:
        print("ready", flush=True)
        while not Path(argv[1]).exists():
            time.sleep(0.005)
    print(json.dumps(run_one(argv[0])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
