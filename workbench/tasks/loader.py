"""Load a task file: YAML -> `TaskFile`, every error with its field path and line number.

Relative paths inside a task file resolve against the file's folder (or its `workdir:`).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.yaml"
    >>> _ = p.write_text("name: t\\nkind: hpo\\nbudget: {evaluations: -1}\\n")
    >>> try:
    ...     load_task_file(p)
    ... except ConfigError as e:
    ...     print(str(e).splitlines()[2].strip())
    line 3: budget.evaluations: Input should be greater than 0 (got -1)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workbench.errors import ConfigError
from workbench.tasks._yaml import AliasRefused, compose, load_nodes
from workbench.tasks.base import Task, get_kind
from workbench.tasks.schema import TaskFile, task_file_model

__all__ = [
    "build_task",
    "config_error",
    "load_task",
    "load_task_file",
    "locate",
    "parse_task_data",
    "parse_task_text",
]

Problem = tuple[tuple[Any, ...], int | None, str]  # (field path, 1-based line, message)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _child(node: yaml.Node | None, key: Any) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(key node, value node) of `key` inside a mapping or sequence node."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == str(key):
                return k, v
    elif (
        isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value)
    ):
        item = node.value[key]
        return item, item
    return None, None


def _is_tag(node: yaml.Node | None, key: Any, following: tuple[Any, ...]) -> bool:
    """Is `key` a tag pydantic put into a location (a union member), not a key of the file?"""
    if not isinstance(key, str) or _child(node, key)[1] is not None:
        return False
    if "[" in key:  # 'list[str]', 'function-after[...]'
        return True
    type_node = _child(node, "type")[1]  # a discriminated union names the `type:` value
    if isinstance(type_node, yaml.ScalarNode) and type_node.value == key:
        return True
    return bool(following) and _child(node, following[0])[1] is not None


def locate(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], int | None]:
    """Map a pydantic error location to (field path as written in the file, 1-based line).

    Union tags that pydantic inserts into locations (``'float'``, ``'list[str]'``) are dropped;
    a missing key points at the line of the mapping it is missing from.
    """
    node, mark_node, shown = root, root, []
    for i, key in enumerate(loc):
        if _is_tag(node, key, loc[i + 1 :]):
            continue
        shown.append(key)
        key_node, value_node = _child(node, key)
        if value_node is None:
            shown.extend(k for k in loc[i + 1 :] if not _is_tag(None, k, ()) or "[" not in str(k))
            break  # missing key (or a key under a scalar): point at the parent
        last = i == len(loc) - 1
        mark_node = key_node if last and key_node is not value_node else value_node
        node = value_node
    line = mark_node.start_mark.line + 1 if mark_node is not None else None
    return tuple(shown), line


def _duplicates(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> list[Problem]:
    """YAML silently keeps the last of duplicated keys; a task file must not have any.

    The tree is alias-free (`workbench.tasks._yaml`), so it is walked once, with no cycles.
    """
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = getattr(k, "value", None)
            if isinstance(key, str) and key in seen:
                problems.append(((*path, key), k.start_mark.line + 1, "duplicate key"))
            seen.add(str(key))
            problems += _duplicates(v, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            problems += _duplicates(v, (*path, i))
    return problems


def _fail(source: str, problems: list[Problem], *, hint: bool = True) -> ConfigError:
    lines = []
    for loc, line, msg in problems:
        where = f"line {line}: " if line else ""
        path = ".".join(str(x) for x in loc) or "(top level)"
        lines.append(f"  {where}{path}: {msg}")
    n = len(problems)
    what = "task file" if hint else "task"
    head = f"invalid {what} {source} ({n} error{'s' if n != 1 else ''}):"
    tail = [f"  fix them, then: workbench validate {source}"] if hint else []
    return ConfigError("\n".join([head, *lines, *tail]))


def _message(err: dict[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling; see `workbench validate --help`)"
    if err["type"] == "missing":
        return "required key is missing"
    if "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {_short(err['input'])})"
    return msg


def parse_task_text(
    text: str, base_dir: Path, source: str = "<task>", *, import_timeout_s: float | None = None
) -> TaskFile:
    """Validate task-file text; relative paths resolve against `base_dir`.

    Args:
        text: the task file's YAML.
        base_dir: the folder relative paths resolve against.
        source: the file's name in messages.
        import_timeout_s: when given, the user's modules are first imported in a child process
            that is stopped after this many seconds (`workbench validate`), so that a module
            hanging at import is reported instead of hanging.

    Raises:
        ConfigError: listing every problem with its field path and line number.
    """
    try:
        root, data = load_nodes(text)
    except AliasRefused as exc:
        raise _fail(source, [(exc.path, exc.problem_mark.line + 1, str(exc.problem))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _fail(source, [((), line, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise _fail(source, [((), 1, f"a task file is a mapping of keys, got {got}")])
    if dups := _duplicates(root):
        raise _fail(source, dups)
    return _validate(data, root, base_dir, source, import_timeout_s)


def parse_task_data(data: dict[str, Any], base_dir: Path, source: str = "<task>") -> TaskFile:
    """Validate a task file given as data (the Python API's `workbench.compose`), with the
    messages `parse_task_text` gives, less the line numbers; paths resolve against `base_dir`.

    Raises:
        ConfigError: listing every problem with its field path.
    """
    if not isinstance(data, dict):
        problem = f"a task is a mapping of keys, got {type(data).__name__}"
        raise _fail(source, [((), None, problem)], hint=False)
    return _validate(data, None, base_dir, source, None)


def _validate(
    data: dict[str, Any],
    root: yaml.Node | None,
    base_dir: Path,
    source: str,
    import_timeout_s: float | None,
) -> TaskFile:
    def line(loc: tuple[Any, ...]) -> int | None:
        return locate(root, loc)[1] if root is not None else None

    def fail(problems: list[Problem]) -> ConfigError:
        return _fail(source, problems, hint=root is not None)

    kind = data.get("kind")
    if not isinstance(kind, str):
        problem = "required key is missing" if kind is None else f"must be a string (got {kind!r})"
        raise fail([(("kind",), line(("kind",)), problem)])
    try:
        model = task_file_model(kind)
    except ConfigError as exc:
        raise fail([(("kind",), line(("kind",)), str(exc))]) from None
    workdir = data.get("workdir")
    base = base_dir.resolve()
    if isinstance(workdir, str):
        base = (base / workdir).resolve()
        if not base.is_dir():
            msg = f"folder {str(base)!r} does not exist"
            raise fail([(("workdir",), line(("workdir",)), msg)])
    try:
        context = {"base_dir": base, "import_timeout_s": import_timeout_s}
        task = model.model_validate(data, context=context)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            shown, at = locate(root, tuple(err["loc"]))
            problems.append((shown, at if root is not None else None, _message(dict(err))))
        raise fail(sorted(problems, key=lambda p: p[1] or 0)) from None
    task.workdir = str(base)
    return task


def config_error(path: str | Path, problems: list[tuple[tuple[Any, ...], str]]) -> ConfigError:
    """A ConfigError for problems found after validation (e.g. by the optimizer), with lines."""
    try:
        root = compose(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        root = None
    located = []
    for loc, msg in problems:
        shown, line = locate(root, loc)
        located.append((shown, line if root is not None else None, msg))
    return _fail(str(path), located)


def load_task_file(path: str | Path, *, import_timeout_s: float | None = None) -> TaskFile:
    """Read and validate a task file (see `parse_task_text`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"task file {str(path)!r} not found; give the path of a .yaml task file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read task file {str(path)!r}: {exc}") from None
    return parse_task_text(text, path.parent, source=str(path), import_timeout_s=import_timeout_s)


def build_task(task_file: TaskFile) -> Task:
    """The `Task` object of a validated task file."""
    return get_kind(task_file.kind).factory(task_file)


def load_task(path: str | Path) -> tuple[TaskFile, Task]:
    """Load a task file and build its Task (user code is imported here)."""
    task_file = load_task_file(path)
    return task_file, build_task(task_file)
