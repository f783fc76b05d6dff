"""One place for state: relative paths in settings.yaml (and in the environment variables
that override them) follow the config directory, never the current one. The same
`newswatch --config DIR ...` sees the same database from any directory and creates
nothing where it was started; a database left at its old, current-directory place stops
the command with a hint instead of a silent start on an empty one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config import load_config
from newswatch.cli import main
from tests.conftest import DEMO_PAGES, REPO, rss, write_config

FEED = [{"url": "http://127.0.0.1:9/f.xml", "name": "Nowhere"}]


def config_without_database_url(directory: Path, feeds=FEED, **settings) -> Path:
    """A config whose settings.yaml leaves database_url unset (its default), plus `settings`."""
    write_config(directory, feeds=feeds)
    path = directory / "settings.yaml"
    data = yaml.safe_load(path.read_text())
    del data["database_url"]
    path.write_text(yaml.safe_dump({**data, **settings}))
    return directory


def test_default_state_is_the_data_folder_of_the_config_directory_from_any_cwd(tmp_path, monkeypatch):
    config_dir = config_without_database_url(tmp_path / "srv" / "config")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_config(Path("..") / "srv" / "config").settings
    assert settings.data_dir == str((tmp_path / "srv" / "config" / "data").resolve())
    assert settings.database_url == f"sqlite:///{(config_dir / 'data' / 'newswatch.db').resolve()}"


def test_relative_paths_in_settings_and_environment_follow_the_config_directory(tmp_path, monkeypatch):
    config_dir = config_without_database_url(tmp_path / "config", data_dir="../state",
                                             database_url="sqlite:///../db/nw.db?timeout=5")
    monkeypatch.chdir(tmp_path)
    base = tmp_path.resolve()
    settings = load_config(config_dir).settings
    assert settings.data_dir == str(base / "state")
    assert settings.database_url == f"sqlite:///{base / 'db' / 'nw.db'}?timeout=5"

    monkeypatch.setenv("NEWSWATCH_DATA_DIR", "var")
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", "sqlite:///var/other.db")
    settings = load_config(config_dir).settings
    assert settings.data_dir == str(base / "config" / "var")
    assert settings.database_url == f"sqlite:///{base / 'config' / 'var' / 'other.db'}"


@pytest.mark.parametrize("url", [
    "sqlite:////srv/newswatch/newswatch.db",
    "sqlite://",
    "sqlite:///:memory:",
    "postgresql+psycopg://newswatch:secret@db:5432/newswatch",
])
def test_absolute_in_memory_and_server_urls_are_kept_as_written(tmp_path, url):
    config_dir = config_without_database_url(tmp_path / "config", database_url=url)
    assert load_config(config_dir).settings.database_url == url


def test_the_repository_keeps_its_state_beside_config_whatever_the_cwd(tmp_path, monkeypatch):
    """`make run` (config/ from the repository root) keeps using ./data, as before."""
    monkeypatch.delenv("NEWSWATCH_DATA_DIR", raising=False)
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_config(REPO / "config").settings
    assert settings.data_dir == str(REPO / "data")
    assert settings.database_url == f"sqlite:///{REPO / 'data' / 'newswatch.db'}"
    assert "/data/" in (REPO / ".gitignore").read_text().splitlines()


def test_a_database_left_at_its_old_place_stops_the_command_with_a_hint(tmp_path, monkeypatch, capsys):
    from store import open_database

    config_dir = config_without_database_url(tmp_path / "srv" / "config")
    old_cwd = tmp_path / "where-cron-ran"
    (old_cwd / "data").mkdir(parents=True)
    open_database(f"sqlite:///{old_cwd / 'data' / 'newswatch.db'}").dispose()
    monkeypatch.chdir(old_cwd)

    assert main(["--config", str(config_dir), "hits"]) == 2
    err = capsys.readouterr().err
    assert str(old_cwd / "data" / "newswatch.db") in err and str(config_dir / "data" / "newswatch.db") in err
    assert f"Hint: mkdir -p {config_dir / 'data'} && mv {old_cwd / 'data' / 'newswatch.db'}* " in err
    assert not (config_dir / "data").exists()  # nothing started over

    (config_dir / "data").mkdir()
    (old_cwd / "data" / "newswatch.db").rename(config_dir / "data" / "newswatch.db")
    assert main(["--config", str(config_dir), "hits"]) == 0


def test_an_empty_file_at_the_new_place_starts_a_new_database_on_purpose(tmp_path, monkeypatch, capsys):
    """The hint's way to choose a fresh database while an old one sits in the current directory."""
    config_dir = config_without_database_url(tmp_path / "new-config")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "newswatch.db").write_bytes(b"old")
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config_dir), "hits", "--json"]) == 2
    assert "touch" in capsys.readouterr().err
    (config_dir / "data").mkdir()
    (config_dir / "data" / "newswatch.db").touch()
    assert main(["--config", str(config_dir), "hits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_the_database_of_the_default_config_is_nobodys_leftover(tmp_path, monkeypatch, capsys):
    """From a checkout whose ./config keeps its database in ./data (as the repository's does),
    a second config is a new config: its command runs on its own new database, and the
    checkout's database is not called left behind (moving it would take it from ./config)."""
    from store import open_database

    checkout = tmp_path / "checkout"
    config_without_database_url(checkout / "config", data_dir="../data")
    (checkout / "data").mkdir()
    open_database(f"sqlite:///{checkout / 'data' / 'newswatch.db'}").dispose()
    second = config_without_database_url(tmp_path / "desk" / "config")
    monkeypatch.chdir(checkout)

    assert main(["--config", str(second), "hits", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "Hint" not in captured.err
    assert (second / "data" / "newswatch.db").exists() and (checkout / "data" / "newswatch.db").exists()


def newswatch_in(cwd: Path, *argv: str) -> subprocess.CompletedProcess:
    """The installed command, started in `cwd`, against the session's test Prefect API."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    env.pop("NEWSWATCH_DATABASE_URL", None)
    env.pop("NEWSWATCH_DATA_DIR", None)
    done = subprocess.run([sys.executable, "-m", "newswatch", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_run_then_hits_from_two_other_directories_see_the_same_hits_and_leave_them_empty(
        prefect_harness, site, tmp_path):
    seed = site.add("/news/dprk.html", (DEMO_PAGES / "seed_article.html").read_bytes())
    site.add("/rss.xml", rss([{"title": "North Korea shipped missiles", "link": seed}]),
             content_type="application/rss+xml")
    config_dir = config_without_database_url(tmp_path / "srv" / "config",
                                             feeds=[{"url": site.url("/rss.xml"), "name": "Local Daily"}])
    starts = [tmp_path / name for name in ("cron-cwd", "shell-cwd", "other-cwd")]
    for start in starts:
        start.mkdir()

    newswatch_in(starts[0], "--config", str(config_dir), "run", "--json")
    seen = [json.loads(newswatch_in(start, "--config", str(config_dir), "hits", "--json").stdout)
            for start in starts[1:]]

    assert seen[0] and seen[0] == seen[1]
    assert {hit["url"] for hit in seen[0]} == {seed}
    assert (config_dir / "data" / "newswatch.db").is_file()
    for start in starts:
        assert list(start.iterdir()) == [], f"files created in the current directory {start}"


def test_a_pass_started_without_the_cli_refuses_a_new_database_while_the_old_one_is_left_behind(
        tmp_path, monkeypatch):
    """A deployment's flow loads its config itself: its pass must not start over on an empty
    database (and lose the pending alerts of the old one) any more than the CLI does."""
    from config.errors import ConfigError
    from flows.run_pass import run_pass
    from store import open_database

    config_dir = config_without_database_url(tmp_path / "srv" / "config")
    old_cwd = tmp_path / "worker"
    (old_cwd / "data").mkdir(parents=True)
    open_database(f"sqlite:///{old_cwd / 'data' / 'newswatch.db'}").dispose()
    monkeypatch.chdir(old_cwd)
    with pytest.raises(ConfigError, match="where this command used to look"):
        run_pass(load_config(config_dir))
    assert not (config_dir / "data" / "newswatch.db").exists()
