"""Loading the config twice in one process parses it once, and never hands back a stale one."""

from __future__ import annotations

from config import load_config
from tests.conftest import write_config


def test_a_second_load_of_an_unchanged_config_is_the_same_config(tmp_path):
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}])
    assert load_config(directory) is load_config(directory)


def test_an_edited_file_or_a_changed_secret_gives_a_fresh_config(tmp_path, monkeypatch):
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}],
                             channels={"desk": {"url": "json://127.0.0.1:9/${DESK_TOKEN}"}})
    monkeypatch.setenv("DESK_TOKEN", "one")
    first = load_config(directory)
    feeds = directory / "feeds.yaml"
    feeds.write_text(feeds.read_text().replace("name: A", "name: B"))
    edited = load_config(directory)
    assert [feed.name for feed in edited.feeds] == ["B"] and edited.config_hash != first.config_hash
    monkeypatch.setenv("DESK_TOKEN", "two")
    assert load_config(directory).channels["desk"].url.endswith("/two")
