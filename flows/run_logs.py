"""newswatch's own warnings (a failed feed, a failed alert, a skipped page) in the run's log.

The stages log through plain `logging` (`newswatch.*` loggers), often from worker threads
that a pass starts (feed polls, alert sends). Those threads lack the run's context: Prefect
did not know which run a record belonged to, dropped it from the UI and printed a
`UserWarning` instead; and a record stamped with the run's id would still have gone to the
wrong server (the API address of `newswatch run` is a context setting too).

`newswatch_logs_in_run()` (entered in the flow) hands each such record to Prefect's API log
handler inside a copy of the run's context, so it is sent to the run's API as the run's
log. Records logged inside a task's or the flow's own context are left to Prefect (they
keep its finer, task-run attribution). The `newswatch` logger gets Prefect's API handler
from PREFECT_LOGGING_EXTRA_LOGGERS (set by the CLI), or one for the run's duration. The
terminal is untouched: the records reach it once, through the root logger as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

LOGGER = "newswatch"


class InRunContext(logging.Filter):
    """On an API log handler: a record from outside any run context is handled again inside
    a copy of `context` (the run's), and not here. Never loses a record."""

    def __init__(self, handler: logging.Handler, context: contextvars.Context):
        super().__init__()
        self.handler, self.context = handler, context

    def filter(self, record: logging.LogRecord) -> bool:
        if FlowRunContext.get() or TaskRunContext.get():
            return True
        self.context.copy().run(self.handler.handle, record)
        return False


@contextlib.contextmanager
def newswatch_logs_in_run() -> Iterator[None]:
    """While the block runs, `newswatch.*` records from any thread go to this run's logs.
    Call it in the flow run (its context is the one records are sent in)."""
    if FlowRunContext.get() is None:
        yield
        return
    logger = logging.getLogger(LOGGER)
    handlers = [handler for handler in logger.handlers if isinstance(handler, APILogHandler)]
    added = None if handlers else APILogHandler()
    if added is not None:
        logger.addHandler(added)
        handlers = [added]
    context = contextvars.copy_context()
    filters = [(handler, InRunContext(handler, context)) for handler in handlers]
    for handler, in_run in filters:
        handler.addFilter(in_run)
    try:
        yield
    finally:
        for handler, in_run in filters:
            handler.removeFilter(in_run)
        if added is not None:
            logger.removeHandler(added)
