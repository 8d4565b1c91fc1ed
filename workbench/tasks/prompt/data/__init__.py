"""Labelled examples for prompt tasks: the bundled BBH tasks and a user's own JSONL file.

Example:
    >>> from workbench.tasks.prompt import list_bbh_tasks, load_bbh
    >>> "date_understanding" in list_bbh_tasks()
    True
    >>> load_bbh("date_understanding")[0].target
    '(B)'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from workbench.errors import ConfigError

__all__ = ["Example", "list_bbh_tasks", "load_bbh", "load_jsonl"]


@dataclass(frozen=True)
class Example:
    """One labelled example.

    Attributes:
        input: the text the task model sees (question, options included).
        target: the expected answer, as a string.
    """

    input: str
    target: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"input": self.input, "target": self.target}


def _bbh_dir() -> resources.abc.Traversable:
    return resources.files("workbench.tasks.prompt") / "data" / "bbh"


def list_bbh_tasks() -> list[str]:
    """Names of the bundled BIG-Bench Hard tasks, sorted (27 of them)."""
    return sorted(p.name[:-5] for p in _bbh_dir().iterdir() if p.name.endswith(".json"))


def load_bbh(task: str) -> list[Example]:
    """Load one bundled BBH task in its file order.

    Args:
        task: a name from `list_bbh_tasks()`, e.g. ``"date_understanding"``.

    Returns:
        The task's examples (250 for most tasks).

    Raises:
        ConfigError: `task` is not a bundled BBH task (the message lists the known names).
    """
    names = list_bbh_tasks()
    if task not in names:
        raise ConfigError(f"unknown BBH task {task!r}; known tasks: {', '.join(names)}")
    data = json.loads((_bbh_dir() / f"{task}.json").read_text(encoding="utf-8"))
    return [Example(str(e["input"]), str(e["target"])) for e in data["examples"]]


def _as_text(value: object, key: str, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return str(value)
    raise ConfigError(
        f"{where}: {key!r} must be a string or a number, got {type(value).__name__} {value!r}"
    )


def load_jsonl(
    path: str | Path, input_key: str = "input", target_key: str = "target"
) -> list[Example]:
    """Load a user's JSONL file of input/target pairs (one JSON object per line).

    Blank lines are skipped. Numbers and booleans in the target become strings (``24`` -> ``"24"``).

    Args:
        path: the ``.jsonl`` file.
        input_key: the field holding the input text.
        target_key: the field holding the expected answer.

    Returns:
        The examples in file order.

    Raises:
        ConfigError: the file is missing or unreadable, a line is not a JSON object, a key is
            missing or holds a list/object/null, or the file has no examples. The message names
            the file and the line number.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"dataset file {str(file)!r} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read dataset file {str(file)!r}: {exc}") from None
    examples: list[Example] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg}); one object per line") from None
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: expected a JSON object, got {type(row).__name__}")
        for key in (input_key, target_key):
            if key not in row:
                raise ConfigError(
                    f"{where}: missing key {key!r} (keys on this line: {sorted(row)}); "
                    f"set input_key/target_key to the right names"
                )
        examples.append(
            Example(
                _as_text(row[input_key], input_key, where),
                _as_text(row[target_key], target_key, where),
            )
        )
    if not examples:
        raise ConfigError(f"dataset file {str(file)!r} holds no examples")
    return examples
