"""`RunStore`: a run's candidates, evaluations, optimizer states and evaluation cache in SQLite.

The graph's checkpointed state holds only ids, scores and short feedback; the bulky records
live here (content-addressed where it helps), so checkpoints stay small as runs grow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.contracts import Candidate, Evaluation

__all__ = ["RunStore", "cache_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (id TEXT PRIMARY KEY, step INTEGER, data TEXT, t REAL);
CREATE TABLE IF NOT EXISTS evaluations (
    candidate_id TEXT PRIMARY KEY, step INTEGER, data TEXT, key TEXT, cached INTEGER, t REAL);
CREATE TABLE IF NOT EXISTS blobs (ref TEXT PRIMARY KEY, data TEXT);
CREATE TABLE IF NOT EXISTS eval_cache (key TEXT PRIMARY KEY, data TEXT, t REAL);
"""


def cache_key(task_fingerprint: str, candidate: Candidate, environment: str) -> str:
    """sha256 of (task, candidate payload, environment): equal keys mean equal evaluations."""
    blob = json.dumps(
        [task_fingerprint, candidate.payload, environment], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class RunStore:
    """Thread-safe SQLite store of one run (one connection, one lock, WAL).

    Every write commits at once (or with the others of its `transaction`), before the loop
    checkpoints the step that made it. WAL with synchronous=NORMAL syncs the file at WAL
    checkpoints only, not at every commit: a committed write survives the process being killed
    (kill -9), while a power cut or an OS crash can take back the last commits.

    Args:
        path: the database file (created).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()  # re-entered by the writes inside a `transaction`
        self._depth = 0  # open `transaction` blocks (of the thread holding the lock)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the writes made inside together, once (rolled back if the block raises).

        The store is locked meanwhile: other threads' reads and writes wait, so keep it short.
        """
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._lock:
            row = self._db.execute(sql, args).fetchone()
        return None if row is None else row[0]

    def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def put_candidates(self, step: int, candidates: list[Candidate]) -> None:
        """Record proposed candidates (re-recording the same id replaces it)."""
        rows = [(c.id, step, json.dumps(c.to_dict()), time.time()) for c in candidates]
        with self.transaction():
            self._db.executemany("INSERT OR REPLACE INTO candidates VALUES (?,?,?,?)", rows)

    def candidate(self, cid: str) -> Candidate:
        """The candidate `cid` (KeyError when unknown)."""
        data = self._one("SELECT data FROM candidates WHERE id=?", (cid,))
        if data is None:
            raise KeyError(cid)
        return Candidate.from_dict(json.loads(data))

    def put_evaluation(self, step: int, ev: Evaluation, key: str, cached: bool) -> None:
        """Record the evaluation of a candidate."""
        self._write(
            "INSERT OR REPLACE INTO evaluations VALUES (?,?,?,?,?,?)",
            (ev.candidate_id, step, json.dumps(ev.to_dict()), key, int(cached), time.time()),
        )

    def evaluation(self, cid: str) -> Evaluation | None:
        """The evaluation of candidate `cid`, if any."""
        got = self.recorded(cid)
        return None if got is None else got[0]

    def recorded(self, cid: str) -> tuple[Evaluation, bool] | None:
        """The recorded evaluation of `cid` and whether it was a cache hit; None if unrecorded."""
        with self._lock:
            row = self._db.execute(
                "SELECT data, cached FROM evaluations WHERE candidate_id=?", (cid,)
            ).fetchone()
        return None if row is None else (Evaluation.from_dict(json.loads(row[0])), bool(row[1]))

    def evaluations(self) -> list[tuple[int, Candidate, Evaluation, bool]]:
        """Every (step, candidate, evaluation, cached) in the order they were recorded."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.step, c.data, e.data, e.cached FROM evaluations e "
                "JOIN candidates c ON c.id = e.candidate_id ORDER BY e.t, e.rowid"
            ).fetchall()
        return [
            (s, Candidate.from_dict(json.loads(c)), Evaluation.from_dict(json.loads(e)), bool(k))
            for s, c, e, k in rows
        ]

    def cached(self, key: str) -> dict[str, Any] | None:
        """The cached evaluation dict under `key`."""
        data = self._one("SELECT data FROM eval_cache WHERE key=?", (key,))
        return None if data is None else json.loads(data)

    def put_cache(self, key: str, ev: Evaluation) -> None:
        """Cache an evaluation under `key`."""
        self._write(
            "INSERT OR REPLACE INTO eval_cache VALUES (?,?,?)",
            (key, json.dumps(ev.to_dict()), time.time()),
        )

    def put_blob(self, data: dict[str, Any]) -> str:
        """Store JSON content-addressed; returns its ref."""
        text = json.dumps(data, sort_keys=True)
        ref = hashlib.sha256(text.encode()).hexdigest()
        self._write("INSERT OR IGNORE INTO blobs VALUES (?,?)", (ref, text))
        return ref

    def keep_blobs(self, refs: set[str]) -> None:
        """Delete every stored blob but `refs` (the states a checkpoint may still name)."""
        marks = ",".join("?" * len(refs))
        self._write(f"DELETE FROM blobs WHERE ref NOT IN ({marks})", tuple(sorted(refs)))

    def blob(self, ref: str) -> dict[str, Any]:
        """The JSON stored under `ref` (KeyError when unknown)."""
        data = self._one("SELECT data FROM blobs WHERE ref=?", (ref,))
        if data is None:
            raise KeyError(ref)
        return json.loads(data)
