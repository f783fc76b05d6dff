"""A reader that stops early (`newswatch ... | head`) ends the command quietly, as Unix tools do."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_output_piped_into_a_reader_that_stops_early_ends_without_a_traceback():
    command = subprocess.Popen([sys.executable, "-m", "newswatch", "rules", "explain", "@country:KP"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = command.stdout.readline()
    command.stdout.close()  # what `| head -1` does once it has its line
    stderr = command.stderr.read().decode()
    assert command.wait(timeout=60) == 0
    assert first.startswith(b"@country:KP: ") and "Traceback" not in stderr and "BrokenPipe" not in stderr
