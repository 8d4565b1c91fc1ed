"""Files of problems: YAML or JSON problem mappings, or HumanEval-format JSONL."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import yaml

from workbench.errors import ConfigError
from workbench.tasks._yaml import safe_load
from workbench.tasks.code.humaneval import problem_from_record
from workbench.tasks.code.problem import CodeProblem, problem_from_dict

__all__ = ["load_problems_file"]


def load_problems_file(path: str | Path) -> list[CodeProblem]:
    """Load problems from a YAML or JSON file, or a HumanEval-format ``.jsonl[.gz]``.

    YAML/JSON: one problem mapping, a list of them, or ``{"problems": [...]}``; each mapping has
    ``task_id``, ``prompt`` (signature + docstring), ``entry_point``, ``public_tests`` and
    ``hidden_tests`` (see `TestSpec`), and optionally ``setup`` and ``canonical_solution``.
    JSONL: records with HumanEval's keys (task_id, prompt, entry_point, test, and optionally
    canonical_solution), converted like `load_humaneval`.

    Raises:
        ConfigError: the file is missing, unreadable or invalid.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"problem file {str(p)!r} not found")
    name = p.name.lower()
    try:
        if name.endswith((".jsonl", ".jsonl.gz")):
            opener = gzip.open if name.endswith(".gz") else open
            with opener(p, "rt", encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
            return [problem_from_record(r, source=str(p)) for r in records]
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if name.endswith(".json") else safe_load(text)
    except (OSError, ValueError, yaml.YAMLError, KeyError) as exc:
        raise ConfigError(f"problem file {str(p)!r} cannot be read: {exc}") from exc
    if isinstance(data, dict) and "problems" in data:
        data = data["problems"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(d, dict) for d in items):
        raise ConfigError(f"problem file {str(p)!r} must hold a problem mapping or a list of them")
    return [problem_from_dict(d, where=f"{p}[{i}]") for i, d in enumerate(items)]
