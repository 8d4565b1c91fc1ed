"""`RunStore`: a step's writes commit together; WAL without a sync per commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from workbench.agents import RunStore, open_checkpointer
from workbench.contracts import Candidate, Evaluation


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as con:  # another connection: sees committed rows only
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_writes_in_a_transaction_commit_together_once(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "store.sqlite")
    cands = [Candidate(id=f"c{i}", payload={"i": i}) for i in range(3)]
    with store.transaction():
        store.put_candidates(0, cands)  # a transaction of its own, nested: no commit yet
        ref = store.put_blob({"state": 1})
        with store.transaction():
            store.put_evaluation(0, Evaluation("c0", "ok", {"score": 1.0}), "k", False)
        assert _count(tmp_path / "store.sqlite", "candidates") == 0
        assert _count(tmp_path / "store.sqlite", "blobs") == 0
        assert store.candidate("c2").payload == {"i": 2}  # this connection reads its writes
    assert _count(tmp_path / "store.sqlite", "candidates") == 3
    assert _count(tmp_path / "store.sqlite", "evaluations") == 1
    assert store.blob(ref) == {"state": 1}
    store.close()


def test_a_transaction_that_raises_writes_nothing(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "store.sqlite")
    with pytest.raises(RuntimeError), store.transaction():
        store.put_candidates(0, [Candidate(id="c0", payload={})])
        store.put_blob({"state": 1})
        raise RuntimeError("the optimizer's state() failed")
    assert _count(tmp_path / "store.sqlite", "candidates") == 0
    assert _count(tmp_path / "store.sqlite", "blobs") == 0
    store.put_blob({"state": 2})  # the store works on
    assert _count(tmp_path / "store.sqlite", "blobs") == 1
    store.close()


def test_store_and_checkpoints_use_wal_without_a_sync_per_commit(tmp_path: Path) -> None:
    """synchronous=NORMAL in WAL mode: a commit survives kill -9 (the resume tests), not a
    power cut; FULL would sync the disk at each of a step's commits."""
    store = RunStore(tmp_path / "store.sqlite")
    assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._db.execute("PRAGMA synchronous").fetchone() == (1,)
    store.close()
    with open_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
        assert saver.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert saver.conn.execute("PRAGMA synchronous").fetchone() == (1,)


def test_keep_blobs_drops_every_other_state(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "store.sqlite")
    refs = [store.put_blob({"state": i, "memory": list(range(i))}) for i in range(5)]
    store.keep_blobs({refs[3], refs[4]})
    assert _count(tmp_path / "store.sqlite", "blobs") == 2
    assert store.blob(refs[4])["state"] == 4 and store.blob(refs[3])["state"] == 3
    with pytest.raises(KeyError):
        store.blob(refs[0])
    store.close()
