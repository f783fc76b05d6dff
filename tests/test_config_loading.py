"""Loading the config twice gives the same config, and never a stale one."""

from __future__ import annotations

from config import load_config
from tests.conftest import write_config


def test_a_second_load_of_an_unchanged_config_is_the_same_config(tmp_path):
    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}])
    first, second = load_config(directory), load_config(directory)
    assert first == second and first.config_hash == second.config_hash


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
    assert (f"{directory / 'feeds.yaml'}:3: yaml: a tab in the indentation: '\\t  name: A'; "
            "YAML indents with spaces only") in str(raised.value)


YAML_MISTAKES = [  # (channels.yaml text, the line of the mistake, what check says about it)
    ("channels:\n  desk:\n    url: json://127.0.0.1:9/a\n\npaste the webhook below\n\n\n  ops:\n"
     "    url: json://127.0.0.1:9/b\n", 5,
     "yaml: a line that is not `key: value` or a `- ` item: 'paste the webhook below'; remove it or comment it out"),
    ("channels:\n  desk:\n    url: json://127.0.0.1:9/a\n   mode: digest\n    digest_cron: '0 8 * * *'\n", 4,
     "yaml: this line is not indented like its neighbours: '   mode: digest'; line it up with the keys"),
    ("channels:\n  desk:\n    url: json://127.0.0.1:9/a\n  - ops\n", 4,
     "yaml: a `- ` item among `key: value` lines of the same indentation: '  - ops'"),
    ("[notes]\nchannels:\n  desk:\n    url: json://127.0.0.1:9/a\n", 1,
     "yaml: a line that is not `key: value` or a `- ` item: '[notes]'"),
]


def test_a_yaml_mistake_is_reported_at_the_line_it_is_on_in_plain_words(tmp_path, capsys):
    """A stray text line, a line indented off its neighbours, an item among keys: `check` names
    the line of the mistake (not the one the parser gave up on, lines later) and shows it."""
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml", "name": "A"}])
    for text, line, message in YAML_MISTAKES:
        (directory / "channels.yaml").write_text(text)
        assert main(["check", "--config", str(directory)]) == 1
        err = capsys.readouterr().err
        assert f"{directory / 'channels.yaml'}:{line}: {message}" in err, err
        assert "<document start>" not in err and "<block" not in err


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


FIVE_PROBLEMS = {  # file -> (text, the problems it holds as `line: field: message` fragments)
    "settings.yaml": ("database_url: sqlite:///x.db\nschedul:\n  interval_minutes: 15\n",
                      ["2: schedul: unknown field; did you mean 'schedule'?"]),
    "feeds.yaml": ("feeds:\n  - url: ftp://127.0.0.1/feed.xml\n  - name: No URL\n",
                   ["2: feeds[0].url: 'ftp://127.0.0.1/feed.xml' is not an http(s) URL",
                    "3: feeds[1].url: required field is missing"]),
    "rules.yaml": ("rules:\n  - name: Missiles\n    query: (missile AND\n    channels: [nowhere]\n",
                   ["4: rules[0].channels: unknown channel 'nowhere'",
                    "3: rules[0].query: rule 'Missiles': 'AND' has nothing after it"]),
}


def test_check_reports_every_problem_of_every_file_in_one_run_most_important_first(tmp_path, capsys):
    """Five problems in three files: one `check` names all five as `file:line: field: problem`,
    the unreadable shapes before the broken references and the query; `run` refuses them all."""
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}])
    for name, (text, _) in FIVE_PROBLEMS.items():
        (directory / name).write_text(text)

    code = main(["check", "--config", str(directory)])
    err = capsys.readouterr().err
    assert code == 1
    expected = [f"{directory / name}:{fragment}" for name, (_, fragments) in FIVE_PROBLEMS.items()
                for fragment in fragments]
    positions = []
    for fragment in expected:
        assert fragment in err, (fragment, err)
        positions.append(err.index(fragment))
    assert "5 problem(s)" in err
    schema, reference, query = positions[:3], positions[3], positions[4]
    assert max(schema) < reference < query  # most important first

    code = main(["run", "--config", str(directory)])
    run_err = capsys.readouterr().err
    assert code == 2 and all(fragment in run_err for fragment in expected)
    assert not (directory / "newswatch.db").exists() and not (tmp_path / "x.db").exists()


TEN_PROBLEMS = {  # file -> (text, its problems as `line: field: message` fragments), as a new user writes them
    "settings.yaml": ("schedule:\n  interval_minutes: 15\nfetch:\n  timout_seconds: 10\ninstance: Korea Desk\n",
                      ["4: fetch.timout_seconds: unknown field; did you mean 'timeout_seconds'?",
                       "5: instance: 'Korea Desk' is not an instance name"]),
    "feeds.yaml": ("feeds:\n  - url: http://127.0.0.1:9/a.xml\n    name: A\n  - url: ftp://127.0.0.1/b.xml\n"
                   "  - url: http://127.0.0.1:9/a.xml\n    name: A again\n",
                   ["4: feeds[1].url: 'ftp://127.0.0.1/b.xml' is not an http(s) URL",
                    "5: feeds[2].url: feed http://127.0.0.1:9/a.xml is listed twice"]),
    "rules.yaml": ("aliases:\n  dprk: [North Korea, DPRK, Pyongyang, Kim Jong Un]\nrules:\n"
                   "  - name: Missiles\n    querry: missile\n"
                   "  - name: Korea\n    query: '@dprkk AND missile'\n    channels: [desk, digest]\n"
                   "  - name: Korea\n    query: '@dprk'\n    channels: [slak]\n",
                   ["5: rules[0].querry: unknown field; did you mean 'query'?",
                    "9: rules[2].name: duplicate rule name 'Korea'",
                    "11: rules[2].channels: unknown channel 'slak' (known: desk)",
                    "7: rules[1].query: rule 'Korea': unknown alias @dprkk"]),
    "channels.yaml": ("channels:\n  desk:\n    url: json://127.0.0.1:9/${HOOK_TOKEN_19X}\n"
                      "  digest:\n    url: json://127.0.0.1:9/d\n    mode: digest\n",
                      ["4: channels.digest: mode: digest needs digest_cron",
                       "3: channels.desk.url: environment variable HOOK_TOKEN_19X is not set"]),
}


def test_check_reports_every_problem_of_a_realistic_mix_in_one_run(tmp_path, capsys):
    """Ten mistakes across the four files, field problems beside the references, queries and
    secrets of the entries that are fine: one `check` lists all ten, each at the entry's own
    place in its file (feeds[2] stays feeds[2] though feeds[1] was left out), and names no
    channel unknown that is only broken (`digest`). `run` refuses them all."""
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}])
    for name, (text, _) in TEN_PROBLEMS.items():
        (directory / name).write_text(text)
    expected = [f"{directory / name}:{fragment}" for name, (_, fragments) in TEN_PROBLEMS.items()
                for fragment in fragments]
    assert len(expected) == 10

    assert main(["check", "--config", str(directory)]) == 1
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert "unknown channel 'digest'" not in err

    assert main(["run", "--config", str(directory)]) == 2
    run_err = capsys.readouterr().err
    assert all(fragment in run_err for fragment in expected)
    assert not (directory / "data").exists()


def test_a_file_that_cannot_be_read_comes_first_and_the_others_are_still_checked(tmp_path, capsys):
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}],
                             channels={"desk": {"url": "json://127.0.0.1:9/${NO_SUCH_TOKEN_19C}"}})
    (directory / "rules.yaml").write_text("rules:\n  - name: A\n    query: missile\n    languages: en\n")
    (directory / "feeds.yaml").write_text("feeds:\n  - url: [unclosed\n")
    assert main(["check", "--config", str(directory)]) == 1
    lines = capsys.readouterr().err.splitlines()[1:]
    assert lines[0].startswith(f"{directory / 'feeds.yaml'}:2: yaml: ")
    assert lines[1].startswith(f"{directory / 'rules.yaml'}:4: rules[0].languages: ")
    assert lines[2] == (f"{directory / 'channels.yaml'}:3: channels.desk.url: environment variable "
                        "NO_SUCH_TOKEN_19C is not set (export it, or comment out the channel)")
    assert len(lines) == 3


def test_the_instance_name_comes_from_the_config_directory_unless_settings_name_it(tmp_path, capsys):
    from newswatch.cli import main

    feeds = [{"url": "http://127.0.0.1:9/a.xml"}]
    assert load_config(write_config(tmp_path / "Ukraine Desk" / "config", feeds=feeds)).settings.instance == \
        "ukraine-desk"  # a directory called config says nothing: its parent names the instance
    assert load_config(write_config(tmp_path / "korea_watch", feeds=feeds)).settings.instance == "korea-watch"
    named = write_config(tmp_path / "other" / "config", feeds=feeds, settings={"instance": "seoul-bureau"})
    assert load_config(named).settings.instance == "seoul-bureau"

    bad = write_config(tmp_path / "bad" / "config", feeds=feeds, settings={"instance": "Seoul Bureau"})
    assert main(["check", "--config", str(bad)]) == 1
    assert "settings.yaml:" in (err := capsys.readouterr().err) and ": instance: " in err and "lowercase" in err


def test_an_alias_with_a_problem_is_reported_once_and_still_defined_for_the_queries(tmp_path, capsys):
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}],
                             rules="aliases:\n  dprk: North Korea\nrules:\n  - name: Korea\n    query: '@dprk AND missile'\n")
    assert main(["check", "--config", str(directory)]) == 1
    lines = capsys.readouterr().err.splitlines()[1:]
    assert len(lines) == 1 and lines[0].startswith(f"{directory / 'rules.yaml'}:2: aliases.dprk: "), lines


def test_a_rule_with_a_typo_still_has_its_channels_and_query_checked(tmp_path, capsys):
    """A misspelt field of a rule does not hide the rule's other problems: its unknown channel and
    its bad query are reported in the same run (a new user needed three runs for this)."""
    from newswatch.cli import main

    directory = write_config(tmp_path / "config", feeds=[{"url": "http://127.0.0.1:9/a.xml"}],
                             channels={"hook": {"url": "json://127.0.0.1:9/"}})
    (directory / "rules.yaml").write_text(
        "rules:\n"
        "  - name: KP shells\n"
        "    query: '@country:KP NEAR/30 (shell* OR @armz)'\n"
        "    channels: [slack-desk]\n"
        "    langauges: [en]\n")
    assert main(["check", "--config", str(directory)]) == 1
    err = capsys.readouterr().err
    assert "rules.yaml:5: rules[0].langauges: unknown field; did you mean 'languages'?" in err
    assert "rules.yaml:4: rules[0].channels: unknown channel 'slack-desk'" in err
    assert "unknown alias @armz" in err
