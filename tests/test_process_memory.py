"""What keeps a pass's processes small, checked where it could silently stop holding:

- a worker started by `spawn` imports the parent's main module again, and the `newswatch`
  script's main module is `newswatch.cli`: importing it must not load the stages (the
  database, the extractor, the alerts), or every extraction worker of `newswatch run` carries them;
- the pass process hands pages to the workers and never parses one, so importing the pass
  must not load trafilatura (or lxml);
- clearing trafilatura's caches every few dozen extractions must not change what is extracted;
- the workers and the pass tune glibc's malloc when they run on glibc.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

from extractors.articles import RESET_CACHES_EVERY, extract_page
from extractors.errors import ExtractCrashed, ExtractTimeout
from extractors.process_memory import tune_malloc
from extractors.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "tests" / "golden" / "cp1252_french.html"


def modules_after_import(module: str, candidates: tuple[str, ...]) -> list[str]:
    """Which of `candidates` a fresh interpreter has loaded once it imported `module`."""
    code = f"import sys, {module}; print(' '.join(m for m in {candidates!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_command_line_module_loads_no_stage_so_spawned_workers_stay_small():
    assert modules_after_import("newswatch.cli", ("prefect", "sqlalchemy", "trafilatura", "apprise", "feedparser")) == []


def test_the_pass_process_does_not_load_the_extractor():
    assert modules_after_import("flows.monitor", ("trafilatura", "lxml", "justext")) == []


def test_extraction_is_the_same_before_and_after_the_caches_are_cleared():
    html = PAGE.read_bytes()
    articles = [extract_page(html, f"http://127.0.0.1/page/{n}") for n in range(RESET_CACHES_EVERY + 2)]
    assert articles[0].text and articles[0].title
    assert {(article.title, article.text, article.date) for article in articles} == {
        (articles[0].title, articles[0].text, articles[0].date)}


def tuned_already() -> bool:
    """In a worker: whether its start-up tuned malloc, and it applied (before this call asks)."""
    return tune_malloc.cache_info().currsize == 1 and tune_malloc() is True


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's; elsewhere nothing is tuned")
def test_workers_tune_malloc_on_glibc():
    assert tune_malloc() is True
    with WorkerPool(size=1) as pool:
        assert pool.run(tuned_already, (), 60, (ExtractTimeout, ExtractCrashed)) is True
