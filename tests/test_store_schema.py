"""The schema comes from Alembic migrations, and the migrations match the models."""

from __future__ import annotations

import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from store import open_database
from store.migrate import current_revision, upgrade_database


def test_migrations_produce_exactly_the_models_schema(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == [], "a model changed without a migration: add one under store/migrations/versions"


def test_upgrade_is_idempotent_and_safe_from_two_processes_at_once(tmp_path):
    """Two workers starting on a new database at the same moment: both succeed, one schema."""
    url = f"sqlite:///{tmp_path / 'n.db'}"
    script = f"from store import open_database; open_database({url!r}).dispose()"
    workers = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE) for _ in range(3)]
    outcomes = [(worker.wait(timeout=120), worker.stderr.read().decode()) for worker in workers]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    engine = open_database(url)
    upgrade_database(engine)
    assert current_revision(engine) is not None
    engine.dispose()


def test_upgrade_is_safe_from_threads_of_one_process(tmp_path):
    """Alembic's context is process-global: several passes started in threads (shards, tests)
    must still migrate one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    urls = [f"sqlite:///{tmp_path / f'db{i}.db'}" for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda url: open_database(url).dispose(), urls * 2))
    for url in urls:
        engine = open_database(url)
        assert current_revision(engine) is not None
        engine.dispose()


def test_schema_head_names_the_newest_migration():
    """open_database skips Alembic when the database is at SCHEMA_HEAD: a new migration must move it."""
    from alembic.script import ScriptDirectory

    from store.engine import SCHEMA_HEAD
    from store.migrate import alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


def test_a_database_at_the_newest_schema_opens_without_alembic(tmp_path):
    """Every pass opens the database: when nothing is to migrate, Alembic (0.05-0.15 s) is not loaded."""
    url = f"sqlite:///{tmp_path / 'n.db'}"
    open_database(url).dispose()
    script = ("import sys; from store import open_database; open_database(%r).dispose(); "
              "print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))" % url)
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
