"""SQLite response cache (JSON values) and the `CachedLLM` wrapper that uses it."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from workbench.llm.types import ChatRequest, ChatResult, CompletionRequest, CompletionResult
from workbench.llm.wrapper import WrapperLLM
from workbench.paths import cache_dir

__all__ = ["CachedLLM", "ResponseCache", "default_cache_path"]

R = TypeVar("R", ChatResult, CompletionResult)


def default_cache_path() -> Path:
    """``cache_dir("llm") / "cache.sqlite"``."""
    return cache_dir("llm") / "cache.sqlite"


class ResponseCache:
    """A key -> JSON table in SQLite, safe to share between threads and processes."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
            )

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
                (key, json.dumps(value), time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedLLM(WrapperLLM):
    """Answers repeated requests from the cache: a hit has ``cached=True`` and zero tokens."""

    def __init__(self, inner: Any, cache: ResponseCache | None = None) -> None:
        super().__init__(inner)
        self.cache = cache if cache is not None else ResponseCache()

    def _cached(self, key: str, result_type: type[R], call: Callable[[], R]) -> R:
        """The cached answer for ``key`` (zero tokens, ``cached=True``), else ``call()``'s."""
        started = time.monotonic()
        hit = self.cache.get(key)
        if hit is not None:
            return replace(
                result_type.from_dict(hit),
                prompt_tokens=0,
                completion_tokens=0,
                cached_prompt_tokens=0,
                cached=True,
                latency_s=time.monotonic() - started,
            )
        result = call()
        self.cache.put(key, result.to_dict())
        return result

    def request_chat(self, request: ChatRequest) -> ChatResult:
        return self._cached(request.key(), ChatResult, lambda: self.inner.request_chat(request))

    def request_complete(self, request: CompletionRequest) -> CompletionResult:
        return self._cached(
            request.key(), CompletionResult, lambda: self.inner.request_complete(request)
        )

    def close(self) -> None:
        self.cache.close()
        super().close()
