"""Rule examples are tests: `newswatch check` runs them, and the shipped rules carry real ones."""

from __future__ import annotations

import shutil

from config import load_config
from tests.conftest import REPO, write_config
from tests.rules_support import run_cli

SEED = "examples/dprk_arms_seed.txt"


def test_shipped_config_passes_and_its_dprk_rule_is_tested_on_the_seed_article(capsys):
    code, out, err = run_cli(capsys, "check", "--config", str(REPO / "config"))
    assert code == 0, err
    assert "examples pass" in out
    rules = {rule.name: rule for rule in load_config(REPO / "config").rules}
    assert SEED in rules["DPRK arms transfer"].examples.match
    assert (REPO / "config" / SEED).read_text().startswith("South Korea calls Russia 'self-contradictory'")


def test_a_match_example_that_no_longer_matches_fails_check_naming_rule_and_example(tmp_path, capsys):
    rules = (REPO / "config" / "rules.yaml").read_text().replace(
        "query: '(@dprk OR @country:KP) NEAR/20 @arms AND @transfer'",
        "query: '(@dprk OR @country:KP) NEAR/20 @arms AND @transfer AND satellite*'")
    config_dir = write_config(tmp_path / "config", feeds=[], rules=rules)
    shutil.copytree(REPO / "config" / "examples", config_dir / "examples")
    code, out, err = run_cli(capsys, "check", "--config", str(config_dir))
    assert code == 1 and "config OK" not in out
    assert "rule 'DPRK arms transfer' does not match its match example: " \
           "'North Korea has provided Russia with more than 1,000 containers" in err
    assert f"rules[0].examples.match: rule 'DPRK arms transfer' does not match its match example: '{SEED}'" not in err
    assert str(config_dir / "rules.yaml") in err


def test_an_article_file_example_is_read_relative_to_the_config_dir(tmp_path, capsys):
    rules = f"rules:\n  - name: Weather\n    query: snow\n    examples:\n      match: [{SEED}]\n"
    config_dir = write_config(tmp_path / "config", feeds=[], rules=rules)
    (config_dir / "examples").mkdir()
    shutil.copy(REPO / "config" / SEED, config_dir / SEED)
    code, _, err = run_cli(capsys, "check", "--config", str(config_dir))
    assert code == 1
    assert f"rules[0].examples.match: rule 'Weather' does not match its match example: '{SEED}'" in err

    (config_dir / SEED).unlink()
    code, _, err = run_cli(capsys, "check", "--config", str(config_dir))
    assert code == 1 and "rule 'Weather'" in err and "no such file" in err


def test_a_no_match_example_that_matches_fails_check(tmp_path, capsys):
    rules = "rules:\n  - name: Weather\n    query: snow\n    examples:\n      no_match: ['Heavy snow expected']\n"
    config_dir = write_config(tmp_path / "config", feeds=[], rules=rules)
    code, _, err = run_cli(capsys, "check", "--config", str(config_dir))
    assert code == 1 and "rule 'Weather' matches its no_match example: 'Heavy snow expected'" in err
