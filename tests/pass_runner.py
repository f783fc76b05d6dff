"""One monitoring pass (`flows.run_pass`, no Prefect) in a process of its own, for the tests
that start passes as subprocesses (overlapping runs, the crash harness).

    python -m tests.pass_runner CONFIG_DIR [GO_FILE]

With GO_FILE, prints "ready" once imported and waits for that file to exist, so several
processes start the pass at the same moment. Runs the pass, prints its summary as JSON. Warnings (e.g. the relay's "possible redelivery")
go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    from config import load_config
    from flows.run_pass import run_pass

    config = load_config(argv[0])
    if len(argv) > 1:
        print("ready", flush=True)
        while not Path(argv[1]).exists():
            time.sleep(0.005)
    summary = run_pass(config)
    print(json.dumps({"new_articles": summary.new_articles, "alerts_sent": summary.alerts_sent,
                      "alerts_failed": summary.alerts_failed}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
