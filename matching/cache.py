"""Compiled rule sets kept on disk, so a command reads 10,000 rules without compiling them.

`load_compiled(directory, key)` returns what `store_compiled(directory, key, value)` wrote
under the same key, or None. The key (`cache_key`) hashes everything the compiled result
depends on: each rule's query, tags and languages and the alias groups, the newswatch
version, and the size and modification time of the matcher's own code and name packs, so
an edited rule, an upgrade or a changed pack never meets a stale entry.

A cache file is only ever a shortcut: it is written to a temporary file and renamed into
place (a reader never sees half a file), read back only when it names the very key asked
for, and anything unreadable (truncated, from another Python, not a cache at all) counts as
absent and is compiled again. Failing to write (read-only data directory, full disk) is
not an error either. The directory is `cache/` in the config's data directory, written only
once that exists (a first `check` before any run leaves no trace): the files are the user's
own, like the database beside them. Only the KEEP newest files stay.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from config.models import AliasGroup, RuleConfig

PREFIX = "rules-"
SUFFIX = ".pickle"
KEEP = 4
CODE = Path(__file__).resolve().parent


def rules_cache_dir(data_dir: str | Path) -> str:
    """Where compiled rule sets are kept between processes: `cache/` in the data directory."""
    return str(Path(data_dir) / "cache")


def cache_key(rules: Sequence[RuleConfig], aliases: Mapping[str, AliasGroup]) -> str:
    """What the compiled rules depend on, hashed."""
    digest = hashlib.sha256(code_fingerprint().encode())
    for rule in rules:
        digest.update(repr((rule.name, rule.query, rule.content_hash, rule.tags, rule.languages)).encode())
    for name in sorted(aliases):
        digest.update(repr((name, aliases[name].entries)).encode())
    return digest.hexdigest()[:32]


def code_fingerprint() -> str:
    """The newswatch version and the matcher's code and pack files (name, size, mtime)."""
    try:
        version = metadata.version("newswatch")
    except metadata.PackageNotFoundError:
        version = "unknown"
    files = sorted([*CODE.glob("*.py"), *CODE.glob("packs/*")])
    stats = [(path.name, path.stat().st_size, path.stat().st_mtime_ns) for path in files if path.is_file()]
    return repr((version, stats))


def dump_tree(root: Any) -> bytes:
    """One rule's evaluation tree as bytes, read back by `load_tree` only when the rule is used."""
    return pickle.dumps(root, protocol=pickle.HIGHEST_PROTOCOL)


def load_tree(data: bytes) -> Any:
    return pickle.loads(data)


def cache_path(directory: Path, key: str) -> Path:
    return Path(directory) / f"{PREFIX}{key}{SUFFIX}"


def load_compiled(directory: Path, key: str) -> Any | None:
    """The value stored under `key`, or None when there is none or it cannot be read."""
    try:
        with cache_path(directory, key).open("rb") as file:
            stored_key, value = pickle.load(file)
    except Exception:  # any unreadable file is a cache miss, never a failure
        return None
    return value if stored_key == key else None


def store_compiled(directory: Path, key: str, value: Any) -> bool:
    """Write `value` under `key` atomically; False when it could not be written."""
    directory = Path(directory)
    try:
        directory.mkdir(exist_ok=True)  # in the data directory, never creating it: a command that only reads starts nothing
        handle, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=directory)
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump((key, value), file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, cache_path(directory, key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, pickle.PicklingError, RecursionError):
        return False
    remove_old(directory)
    return True


def remove_old(directory: Path) -> None:
    """Keep the KEEP most recently written cache files."""
    try:
        files = sorted(directory.glob(f"{PREFIX}*{SUFFIX}"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
        for path in files[KEEP:]:
            path.unlink(missing_ok=True)
    except OSError:
        return
