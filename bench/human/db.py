"""The human-evaluation database: one SQLite file under BENCH_HOME, WAL mode, schema versioned by migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError

FILE = "human.sqlite3"

# Each entry moves the schema from version i to i + 1; never edit a released entry, append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE studies (
        id TEXT PRIMARY KEY,
        prompt_set TEXT NOT NULL,
        lang TEXT NOT NULL,
        oracle TEXT,
        check_every INTEGER NOT NULL,
        check_threshold REAL NOT NULL,
        min_checks INTEGER NOT NULL,
        seed INTEGER NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE study_systems (
        study_id TEXT NOT NULL REFERENCES studies(id),
        system TEXT NOT NULL,
        run_id TEXT NOT NULL,
        run_lang TEXT NOT NULL,
        PRIMARY KEY (study_id, system)
    );
    CREATE TABLE prompts (
        study_id TEXT NOT NULL REFERENCES studies(id),
        prompt_id TEXT NOT NULL,
        text TEXT NOT NULL,
        text_en TEXT NOT NULL,
        concept TEXT,
        category TEXT,
        PRIMARY KEY (study_id, prompt_id)
    );
    CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        study_id TEXT NOT NULL REFERENCES studies(id),
        system TEXT NOT NULL,
        prompt_id TEXT NOT NULL,
        sample INTEGER NOT NULL,
        file TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        UNIQUE (study_id, system, prompt_id, sample)
    );
    CREATE TABLE annotators (
        id TEXT PRIMARY KEY,
        study_id TEXT NOT NULL REFERENCES studies(id),
        token_sha256 TEXT NOT NULL UNIQUE,
        languages TEXT,
        region TEXT,
        created TEXT NOT NULL
    );
    CREATE TABLE tasks (
        id INTEGER PRIMARY KEY,
        study_id TEXT NOT NULL REFERENCES studies(id),
        annotator_id TEXT NOT NULL REFERENCES annotators(id),
        kind TEXT NOT NULL CHECK (kind IN ('pair', 'check')),
        prompt_id TEXT NOT NULL,
        sample INTEGER NOT NULL,
        left_image INTEGER NOT NULL REFERENCES images(id),
        right_image INTEGER NOT NULL REFERENCES images(id),
        sys_lo TEXT,
        sys_hi TEXT,
        pair_key TEXT,
        expected TEXT,
        shown_at REAL NOT NULL,
        created TEXT NOT NULL
    );
    CREATE UNIQUE INDEX tasks_pair_once ON tasks (annotator_id, pair_key) WHERE pair_key IS NOT NULL;
    CREATE INDEX tasks_study_pair ON tasks (study_id, sys_lo, sys_hi);
    CREATE TABLE votes (
        id INTEGER PRIMARY KEY,
        task_id INTEGER NOT NULL UNIQUE REFERENCES tasks(id),
        study_id TEXT NOT NULL REFERENCES studies(id),
        annotator_id TEXT NOT NULL REFERENCES annotators(id),
        answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'tie', 'both_bad')),
        ms INTEGER NOT NULL,
        created TEXT NOT NULL
    );
    CREATE INDEX votes_annotator ON votes (annotator_id, id);
    """,
)


def db_path() -> Path:
    """BENCH_HOME/human/human.sqlite3: the only state of human evaluation besides the run folders."""
    return paths.bench_home() / "human" / FILE


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version stored in the file (PRAGMA user_version)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration the file lacks, each in its own transaction; returns the final version."""
    version = schema_version(conn)
    for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= target:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return schema_version(conn)


def connect(path: Path | None = None) -> sqlite3.Connection:
    """Open (creating and migrating) the database: WAL, full fsync, foreign keys, rows as sqlite3.Row."""
    path = Path(path or db_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), so writers queue instead of deadlocking.
    if path.is_dir():
        raise BenchError(f"{path} is a folder, not the human-evaluation database; move it away")
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an acknowledged vote survives a killed server
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=60000")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise BenchError(f"{path} is not a pea-bench human-evaluation database ({exc}); move it away to start "
                         "a new one, or point BENCH_HOME at the folder that holds yours") from None
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken at once (BEGIN IMMEDIATE): committed on success, rolled back on error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextlib.contextmanager
def opened(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """connect() as a context manager that closes the connection."""
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()
