"""`resolve_callable`: a user's module is imported in a time-limited child first; ours is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.tasks._resolve import resolve_callable


def test_a_user_module_is_probed_under_the_time_limit(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(30)\ndef f():\n    return 1\n")
    with pytest.raises(ValueError, match=r"took longer than 0\.5 s"):
        resolve_callable("slow:f", tmp_path, import_timeout_s=0.5)


def test_a_module_on_the_path_is_probed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "wb_slow_on_path.py").write_text("import time\ntime.sleep(30)\ndef f():\n    pass\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ValueError, match=r"took longer than 0\.5 s"):
        resolve_callable("wb_slow_on_path:f", tmp_path, import_timeout_s=0.5)


def test_workbench_own_objectives_are_imported_without_a_probe(tmp_path: Path) -> None:
    func = resolve_callable("workbench.tasks.bayesmark:objective", tmp_path, import_timeout_s=0.001)
    assert func.__module__ == "workbench.tasks.bayesmark"
