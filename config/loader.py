"""Load the config directory once per run into immutable, hashed objects.

`load_config(dir)` reads settings.yaml, feeds.yaml, rules.yaml and channels.yaml,
validates each against `config.schema`, checks what spans files (a rule naming an
unknown channel, a `${SECRET}` that is not set), and either returns a `Config` or
raises one `ConfigError` listing every problem as `file:line: field: problem`.
The query language itself is checked by `matching`, which reads `RuleConfig.query_source`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from config import schema
from config.errors import RANKS, ConfigError, Problem, most_important_first
from config.models import AliasGroup, ChannelConfig, Config, FeedConfig, RuleConfig, RuleExamples, Settings, Source
from config.paths import current_directory, resolve_state_paths
from config.salvage import Salvaged, salvage
from config.secrets import fill_placeholders
from config.yamlfile import YamlProblem, read_yaml

FILES = {
    "settings.yaml": schema.SettingsSchema,
    "feeds.yaml": schema.FeedsFile,
    "rules.yaml": schema.RulesFile,
    "channels.yaml": schema.ChannelsFile,
}
REQUIRED_FILES = ("feeds.yaml", "rules.yaml")
EMPTY = {"feeds.yaml": {"feeds": []}, "rules.yaml": {"rules": []}}  # what a file with problems counts as
KNOWN_FIELDS = sorted(  # every key a file may hold (pydantic models and dataclasses; `window` is an alias)
    {key for model in vars(schema).values() if isinstance(model, type) and hasattr(model, "__pydantic_fields__")
     for name, info in model.__pydantic_fields__.items()
     for key in (name, *getattr(info.validation_alias, "choices", ()))}
)


def resolve_config_dir(option: str | os.PathLike[str] | None = None) -> Path:
    """`--config DIR`, else `$NEWSWATCH_CONFIG`, else `./config`."""
    return Path(option or os.environ.get("NEWSWATCH_CONFIG") or "config")


def load_config(directory: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the whole config directory, or raise ConfigError listing every problem."""
    directory = Path(directory)
    environ = os.environ if environ is None else environ
    if not directory.is_dir():
        raise ConfigError([_missing_directory(directory)])
    config, problems = inspect_config(directory, environ)
    if problems:
        raise ConfigError(problems)
    return config


def inspect_config(directory: str | os.PathLike[str],
                   environ: Mapping[str, str] | None = None) -> tuple[Config | None, list[Problem]]:
    """Every problem of the config directory, most important first, and the config as far as
    it could be read: a file that is not YAML counts as empty (its defaults); in one with field
    problems each rule, feed, channel, alias or setting with a problem is left out
    (`config.salvage`) and the rest is checked on, against the other files, so one `check`
    lists every problem. The config is None only when the directory is missing; with any
    problem it is for reporting, never for a run."""
    directory = Path(directory)
    environ = os.environ if environ is None else environ
    if not directory.is_dir():
        return None, [_missing_directory(directory)]
    parsed, problems, left_out = _read_files(directory)
    valid = set(parsed)
    for name, model in FILES.items():
        parsed.setdefault(name, (model.model_validate(EMPTY.get(name, {})), {}))
    digest = config_digest(directory)
    config = _build_config(directory, parsed, environ, digest)
    if left_out:
        positions = {kind: kept for salvaged in left_out.values() for kind, kept in salvaged.positions.items()}
        config = replace(config, positions=positions)
    problems += _cross_checks(config, parsed, environ, valid, left_out.get("channels.yaml"))
    return config, most_important_first(problems)


def _missing_directory(directory: Path) -> Problem:
    return Problem(str(directory), 0, "config", "directory not found; pass --config DIR or set NEWSWATCH_CONFIG",
                   rank=RANKS["file"])


def config_digest(directory: Path) -> str:
    """The config's hash (stored with every hit): each present file's name and bytes."""
    digest = hashlib.sha256()
    for name in FILES:
        path = directory / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _read_files(directory: Path) -> tuple[dict[str, tuple[BaseModel, dict]], list[Problem], dict[str, Salvaged]]:
    """(each readable file's model and lines, every problem, what was left out of each file with problems)."""
    parsed: dict[str, tuple[BaseModel, dict]] = {}
    problems: list[Problem] = []
    left_out: dict[str, Salvaged] = {}
    for name, model in FILES.items():
        path = directory / name
        if not path.is_file():
            if name in REQUIRED_FILES:
                problems.append(Problem(str(path), 0, name, "file not found", rank=RANKS["file"]))
            else:
                parsed[name] = (model(), {})
            continue
        result = _validate_file(path, model)
        if isinstance(result, list):
            problems.extend(result)
        elif isinstance(result[0], Salvaged):
            salvaged, found = result
            problems.extend(found)
            parsed[name], left_out[name] = (salvaged.model, salvaged.lines), salvaged
        else:
            parsed[name] = result
    return parsed, problems, left_out


def _validate_file(path: Path, model: type[BaseModel]) -> tuple[BaseModel, dict] | list[Problem]:
    try:
        data, lines = read_yaml(path)
    except YamlProblem as exc:
        return [Problem(str(path), exc.line, "yaml", exc.message, rank=RANKS["file"])]
    except UnicodeDecodeError as exc:
        return [Problem(str(path), 1, "yaml", f"file is not UTF-8 ({exc.reason})", rank=RANKS["file"])]
    if data is None and model is not schema.FeedsFile and model is not schema.RulesFile:
        return model(), lines
    if not isinstance(data, dict):
        return [Problem(str(path), 1, "yaml", "expected a mapping of keys at the top level", rank=RANKS["file"])]
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        problems = sorted((_problem_from_error(path, error, lines) for error in exc.errors()), key=lambda p: p.line)
        salvaged = salvage(data, model, exc.errors(), lines)
        return problems if salvaged is None else (salvaged, problems)


def _problem_from_error(path: Path, error: Mapping[str, Any], lines: dict) -> Problem:
    loc = tuple(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        message = "unknown field" + _did_you_mean(str(loc[-1]))
    elif error["type"] == "missing":
        message = "required field is missing"
    return Problem(str(path), _line_of(loc, lines), format_field(loc), message)


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, KNOWN_FIELDS, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _line_of(loc: tuple, lines: dict) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def format_field(loc: tuple) -> str:
    """('rules', 2, 'query') -> 'rules[2].query'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _build_config(directory: Path, parsed: dict, environ: Mapping[str, str], digest: str) -> Config:
    settings_model, _ = parsed["settings.yaml"]
    rules_model, rule_lines = parsed["rules.yaml"]
    rules_path = str(directory / "rules.yaml")
    aliases = {
        name: AliasGroup(name, tuple(entries), Source(rules_path, rule_lines.get(("aliases", name), 1)))
        for name, entries in rules_model.aliases.items()
    }
    return Config(
        directory=str(directory),
        settings=_build_settings(directory, settings_model, environ),
        feeds=_build_feeds(directory, parsed["feeds.yaml"]),
        aliases=aliases,
        rules=tuple(_build_rule(rule, i, rules_path, rule_lines, aliases) for i, rule in enumerate(rules_model.rules)),
        channels=_build_channels(directory, parsed["channels.yaml"], environ),
        config_hash=digest,
    )


def _build_settings(directory: Path, model: schema.SettingsSchema, environ: Mapping[str, str]) -> Settings:
    paths = resolve_state_paths(directory, environ.get("NEWSWATCH_DATA_DIR") or model.data_dir,
                                environ.get("NEWSWATCH_DATABASE_URL") or model.database_url, current_directory())
    return Settings(
        database_url=paths.database_url,
        data_dir=paths.data_dir,
        old_database=paths.old_database,
        schedule=model.schedule,
        fetch=model.fetch,
        alerts=model.alerts,
        retention_days=model.retention_days,
        instance=model.instance or default_instance(directory),
        watchdog=model.watchdog,
    )


GENERIC_DIR_NAMES = {"config", "configs", "conf", "etc", "settings"}


def default_instance(directory: Path) -> str:
    """The instance name when settings.yaml sets none: the config directory's name, or its
    parent's when that name says nothing (`~/desks/ukraine/config` -> `ukraine`), as
    lowercase words joined by dashes."""
    resolved = directory.resolve()
    for candidate in (resolved, *resolved.parents):
        words = re.findall(r"[a-z0-9]+", candidate.name.lower())
        if words and "-".join(words) not in GENERIC_DIR_NAMES:
            return "-".join(words)[:40].strip("-")
    return "newswatch"


def _build_feeds(directory: Path, parsed: tuple) -> tuple[FeedConfig, ...]:
    model, lines = parsed
    path = str(directory / "feeds.yaml")
    return tuple(
        FeedConfig(
            url=feed.url,
            name=feed.name or re.sub(r"^https?://", "", feed.url).split("/")[0],
            tags=tuple(feed.tags),
            source=Source(path, lines.get(("feeds", i), 1)),
        )
        for i, feed in enumerate(model.feeds)
    )


def _build_rule(rule: schema.RuleSchema, index: int, path: str, lines: dict, aliases: dict) -> RuleConfig:
    return RuleConfig(
        name=rule.name,
        query=rule.query,
        channels=None if rule.channels is None else tuple(rule.channels),
        tags=tuple(rule.tags),
        languages=tuple(rule.languages),
        examples=RuleExamples(
            tuple(rule.examples.match), tuple(rule.examples.no_match),
            _lines(lines, ("rules", index, "examples", "match"), len(rule.examples.match)),
            _lines(lines, ("rules", index, "examples", "no_match"), len(rule.examples.no_match)),
        ),
        source=Source(path, lines.get(("rules", index), 1)),
        query_source=Source(path, lines.get(("rules", index, "query"), 1)),
        content_hash=rule_content_hash(rule.query, rule.tags, rule.languages, aliases),
        cooldown_minutes=rule.cooldown_minutes,
        spikes=rule.spikes,
        story_updates=rule.story_updates,
    )


def _lines(lines: dict, path: tuple, count: int) -> tuple[int, ...]:
    return tuple(_line_of(path + (i,), lines) for i in range(count))


def rule_content_hash(query: str, tags, languages, aliases: Mapping[str, AliasGroup]) -> str:
    """What the rule matches, hashed: query, the alias groups it uses, tags, languages.

    The name and channels are left out on purpose: renaming a rule or re-routing its
    alerts does not make it a different rule.
    """
    used = sorted(set(_ALIAS_REFERENCE.findall(query)))
    payload = {
        "query": query,
        "aliases": {name: list(aliases[name].entries) for name in used if name in aliases},
        "tags": sorted(tags),
        "languages": sorted(languages),
    }
    return hashlib.sha256(_SORTED_JSON.encode(payload).encode()).hexdigest()[:16]


_ALIAS_REFERENCE = re.compile(r"@([\w-]+(?::[\w-]+)?)")
_SORTED_JSON = json.JSONEncoder(sort_keys=True)  # json.dumps(sort_keys=True) builds one per call


def _build_channels(directory: Path, parsed: tuple, environ: Mapping[str, str]) -> dict[str, ChannelConfig]:
    model, lines = parsed
    path = str(directory / "channels.yaml")
    channels = {}
    for name, channel in (model.channels or {}).items():
        url, _ = fill_placeholders(channel.url, environ)
        channels[name] = ChannelConfig(
            name=name,
            url=url,
            mode=channel.mode,
            digest_cron=channel.digest_cron,
            timezone=channel.timezone,
            max_per_run=channel.max_per_run,
            source=Source(path, lines.get(("channels", name, "url"), 1)),
        )
    return channels


def _cross_checks(config: Config, parsed: dict, environ: Mapping[str, str], valid: set[str],
                  channels_left_out: Salvaged | None = None) -> list[Problem]:
    """The checks that span entries or files, each only over files that could be read
    (an unknown channel is not reported against a channels.yaml that could not be read, nor
    a channel left out of it for a problem of its own)."""
    problems = []
    if "rules.yaml" in valid:
        problems += _check_rule_names_and_channels(
            config, parsed, check_channels="channels.yaml" in valid,
            known=channels_left_out.left_out.get("channels", set()) if channels_left_out else set())
    if "feeds.yaml" in valid:
        problems += _check_feeds(config)
    if "channels.yaml" in valid:
        problems += _check_secrets(Path(config.directory), parsed, environ)
    return problems


def _check_rule_names_and_channels(config: Config, parsed: dict, check_channels: bool = True,
                                   known: set[str] = frozenset()) -> list[Problem]:
    _, lines = parsed["rules.yaml"]
    problems, seen = [], set()
    for index, rule in enumerate(config.rules):
        if rule.name in seen:
            problems.append(Problem(rule.source.file, rule.source.line,
                                    f"rules[{config.position('rules', index)}].name",
                                    f"duplicate rule name {rule.name!r}; rule names must be unique", rank=RANKS["reference"]))
        seen.add(rule.name)
        for position, channel in enumerate(rule.channels or () if check_channels else ()):
            if channel not in config.channels and channel not in known:
                names = "known: " + (", ".join(sorted(config.channels)) or "none defined in channels.yaml")
                problems.append(Problem(
                    rule.source.file, _line_of(("rules", index, "channels", position), lines),
                    f"rules[{config.position('rules', index)}].channels", f"unknown channel {channel!r} ({names})",
                    rank=RANKS["reference"]))
    return problems


def _check_feeds(config: Config) -> list[Problem]:
    problems, seen = [], set()
    for index, feed in enumerate(config.feeds):
        if feed.url in seen:
            problems.append(Problem(feed.source.file, feed.source.line, f"feeds[{config.position('feeds', index)}].url",
                                    f"feed {feed.url} is listed twice", rank=RANKS["reference"]))
        seen.add(feed.url)
    return problems


def _check_secrets(directory: Path, parsed: dict, environ: Mapping[str, str]) -> list[Problem]:
    model, lines = parsed["channels.yaml"]
    problems = []
    for name, channel in (model.channels or {}).items():
        for variable in fill_placeholders(channel.url, environ)[1]:
            problems.append(Problem(
                str(directory / "channels.yaml"), _line_of(("channels", name, "url"), lines), f"channels.{name}.url",
                f"environment variable {variable} is not set (export it, or comment out the channel)",
                rank=RANKS["secret"]))
    return problems
