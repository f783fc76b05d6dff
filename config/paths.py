"""Where newswatch keeps its state: every relative path resolves against the config directory.

`settings.yaml` names two places: `data_dir` (default `data`; the local Prefect server's
home is its `prefect/` folder) and `database_url` (default: `newswatch.db` in the data
directory). A relative path in either, in the file or in the environment variables that
override them (`NEWSWATCH_DATA_DIR`, `NEWSWATCH_DATABASE_URL`), is read from the config
directory, never from the current one: `newswatch --config DIR hits` sees the same database
from anywhere, and a cron job started in `/` does not create a second one there.

Before this rule, relative paths followed the current directory. `find_left_behind_database`
tells a user whose database is still at that old place, so that no command silently
starts over on an empty one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_DATA_DIR = "data"
DATABASE_FILE = "newswatch.db"
OLD_DEFAULT_DATABASE = "data/newswatch.db"  # the default before paths followed the config directory
SQLITE_FILE_URL = re.compile(r"^(?P<scheme>sqlite(?:\+\w+)?:///)(?P<path>[^?]*)(?P<query>\?.*)?$")


def resolve_path(config_dir: Path, value: str) -> Path:
    """`value` as an absolute path: `~` expanded, a relative one read from `config_dir`."""
    return (config_dir.resolve() / Path(value).expanduser()).resolve()


def sqlite_file(database_url: str) -> str | None:
    """The file path written in a SQLite URL, or None (another database, or in memory)."""
    match = SQLITE_FILE_URL.match(database_url)
    if not match or match["path"] in ("", ":memory:") or match["path"].startswith("file:"):
        return None
    return match["path"]


def resolve_database_url(config_dir: Path, database_url: str) -> str:
    """A SQLite URL with a relative file path made absolute against `config_dir`; any other
    URL (PostgreSQL, in-memory SQLite, a `file:` URI) unchanged."""
    path = sqlite_file(database_url)
    if path is None or Path(path).is_absolute():
        return database_url
    match = SQLITE_FILE_URL.match(database_url)
    return f"{match['scheme']}{resolve_path(config_dir, path)}{match['query'] or ''}"


@dataclass(frozen=True)
class StatePaths:
    """The data directory and database URL of a config, both absolute; `old_database` is
    where the current directory would have put that database before (None if nowhere)."""

    data_dir: str
    database_url: str
    old_database: str | None


def current_directory() -> Path | None:
    """The current directory, or None when it was deleted under the process."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        return None


def resolve_state_paths(config_dir: Path, data_dir: str | None, database_url: str | None,
                        cwd: Path | None) -> StatePaths:
    """Resolve the settings' `data_dir` and `database_url` (None: not given anywhere)."""
    absolute_data_dir = resolve_path(config_dir, data_dir or DEFAULT_DATA_DIR)
    if database_url is None:
        url, written = f"sqlite:///{absolute_data_dir / DATABASE_FILE}", OLD_DEFAULT_DATABASE
    else:
        url, written = resolve_database_url(config_dir, database_url), sqlite_file(database_url)
    relative = written is not None and not Path(written).expanduser().is_absolute()
    old = str(cwd / written) if relative and cwd is not None else None
    return StatePaths(str(absolute_data_dir), url, old)


def find_left_behind_database(database_url: str, old_database: str | None) -> str | None:
    """A one-line hint when the database is still where the current directory used to put
    it and nothing is at the config-relative place yet; None when all is well. A database
    that is the one `./config` (the default config directory) uses now is nobody's leftover:
    a second config started from the repository is a new config, not a moved one."""
    new = sqlite_file(database_url)
    if new is None or old_database is None or Path(new) == Path(old_database):
        return None
    if Path(new).exists() or not Path(old_database).is_file() or in_use_by_default_config(Path(old_database)):
        return None
    folder = Path(new).parent
    return (f"no database at {new} (relative paths in settings.yaml now follow the config directory, not the "
            f"current one), but there is one at {old_database}, where this command used to look. Hint: "
            f"mkdir -p {folder} && mv {old_database}* {folder}/ (or set database_url to sqlite:///{old_database}; "
            f"to start a new, empty database instead: mkdir -p {folder} && touch {new}). Nothing was run.")


def in_use_by_default_config(database: Path) -> bool:
    """Whether `database` is where the config directory `./config` keeps its database now."""
    cwd = current_directory()
    settings_file = cwd / "config" / "settings.yaml" if cwd else None
    if settings_file is None or not settings_file.is_file():
        return False
    try:
        settings = yaml.safe_load(settings_file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    if not isinstance(settings, dict):
        return False
    data_dir, url = settings.get("data_dir"), settings.get("database_url")
    paths = resolve_state_paths(settings_file.parent, data_dir if isinstance(data_dir, str) else None,
                                url if isinstance(url, str) else None, cwd)
    used = sqlite_file(paths.database_url)
    return used is not None and Path(used).resolve() == database.resolve()
