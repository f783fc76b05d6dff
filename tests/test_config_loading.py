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


def test_a_yaml_mistake_is_reported_at_its_line_with_the_culprit_named(tmp_path):
    """The fast parser finds the mistake; the message still names it (a tab), as a person would."""
    import pytest

    from config.errors import ConfigError

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}])
    (directory / "feeds.yaml").write_text("feeds:\n  - url: http://127.0.0.1:9/a.xml\n\t  name: A\n")
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    assert f"{directory / 'feeds.yaml'}:3: yaml: invalid YAML: found character '\\t'" in str(raised.value)


def test_a_thousand_feeds_load_and_a_typo_in_one_is_found_at_its_line(tmp_path):
    import pytest

    from config.errors import ConfigError

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}])
    urls = [f"http://127.0.0.{2 + n % 8}:9/feed{n}.xml" for n in range(1000)]
    lines = "".join(f"  - url: {url}\n    name: Feed {n}\n" for n, url in enumerate(urls))
    (directory / "feeds.yaml").write_text("feeds:\n" + lines)
    assert [feed.url for feed in load_config(directory).feeds] == urls
    (directory / "feeds.yaml").write_text("feeds:\n" + lines.replace("name: Feed 777\n", "nmae: Feed 777\n"))
    with pytest.raises(ConfigError) as raised:
        load_config(directory)
    assert f"feeds.yaml:{2 + 2 * 777 + 1}: feeds[777].nmae" in str(raised.value)
