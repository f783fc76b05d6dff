"""The one-way data flow of ARCHITECTURE.md, checked by import-linter on every test run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_a_backwards_import_is_caught(tmp_path):
    """The contract is live: a stage importing a later one breaks it."""
    offender = REPO / "config" / "_layer_probe.py"
    offender.write_text("import store  # noqa: F401\n")
    try:
        done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                               "lint_imports_command()"], cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        offender.unlink()
    assert done.returncode != 0
    assert "config._layer_probe -> store" in done.stdout
