"""Scorers: compare a model's output with the target, returning a score in [0, 1].

Every scorer is pure (no model calls) and returns a `ScoreResult` with the extracted answer, so a
report can show *what* was graded. With ``extract="auto"`` (the default) a scorer first looks
for BBH's chain-of-thought ending ("... So the answer is X.") and grades X; without one it grades
the whole output. `make_scorer` is the one resolver from a task file's string or mapping.

Example:
    >>> scorer = make_scorer("multiple_choice")
    >>> result = scorer("Let's think. So the answer is (b).", "(B)", "Q\\nOptions:\\n(A) x\\n(B) y")
    >>> result.score, result.extracted
    (1.0, '(B)')
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import math
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from workbench.errors import ConfigError
from workbench.tasks._resolve import module_file
from workbench.tasks.prompt.extract import (
    extract_answer,
    extract_choice,
    extract_number,
    normalize,
    parse_options,
)

__all__ = [
    "ExactMatch",
    "FunctionScorer",
    "MultipleChoice",
    "NormalizedMatch",
    "NumericMatch",
    "RegexMatch",
    "ScoreResult",
    "Scorer",
    "bbh_scorer",
    "make_scorer",
    "scorer_module",
]

Extract = Literal["auto", "answer_is", "none"]


@dataclass(frozen=True)
class ScoreResult:
    """A graded output.

    Attributes:
        score: in [0, 1]; 1.0 means fully correct.
        extracted: the answer the scorer read from the output (None: nothing found).
    """

    score: float
    extracted: str | None

    @property
    def correct(self) -> bool:
        """True when the score is 1 (what the exemplar pool accepts)."""
        return self.score >= 1.0 - 1e-9

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"score": self.score, "extracted": self.extracted}


class Scorer(ABC):
    """Grades one output. Call it: ``scorer(output, target, input) -> ScoreResult``.

    Attributes:
        name: the scorer's name in task files.
        extract: ``"auto"`` grades the text after the last "answer is" when there is one, else
            the whole output; ``"answer_is"`` requires it (no match scores 0); ``"none"`` grades
            the whole output.
    """

    name: str = "scorer"

    def __init__(self, extract: Extract = "auto") -> None:
        if extract not in ("auto", "answer_is", "none"):
            raise ConfigError(f"scorer extract={extract!r}: use 'auto', 'answer_is' or 'none'")
        self.extract = extract

    def answer_text(self, output: str) -> str | None:
        """The part of `output` this scorer grades (see `extract`)."""
        if self.extract == "none":
            return output
        found = extract_answer(output)
        if found is None and self.extract == "auto":
            return output
        return found

    @abstractmethod
    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        """Grade `output` against `target`; `input` is the task input (options live there)."""

    def __call__(self, output: str, target: str, input: str = "") -> ScoreResult:
        return self.score(output, target, input)


class ExactMatch(Scorer):
    """Equal after stripping and collapsing runs of whitespace (case and punctuation matter).

    Use it where punctuation is the answer (BBH ``dyck_languages``).
    """

    name = "exact"

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        answer = self.answer_text(output)
        if answer is None:
            return ScoreResult(0.0, None)
        got = " ".join(answer.split())
        return ScoreResult(float(got == " ".join(target.split())), got)


class NormalizedMatch(Scorer):
    """Equal after `normalize` (case, whitespace, punctuation and articles ignored)."""

    name = "normalized"

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        answer = self.answer_text(output)
        if answer is None:
            return ScoreResult(0.0, None)
        return ScoreResult(float(normalize(answer) == normalize(target)), answer.strip())


class MultipleChoice(Scorer):
    """Picks the option the output names and compares it with the target option.

    Options come from the task input (``(A) text`` or ``- text`` lines) or from `options`.
    The target may be a letter (``"(B)"``, ``"B"``) or an option's text. The extracted answer is
    reported as ``"(B)"`` for lettered options and as the option text otherwise.

    Args:
        options: fixed option texts (e.g. ``["Yes", "No"]``) for inputs that do not list them.
        extract: see `Scorer`.
    """

    name = "multiple_choice"

    def __init__(self, options: list[str] | None = None, extract: Extract = "auto") -> None:
        super().__init__(extract)
        self.options = {o: o for o in options} if options else None

    def _target_key(self, target: str, options: dict[str, str]) -> str | None:
        stripped = target.strip()
        m = re.fullmatch(r"\(?([A-Z])\)?", stripped)
        if m and m.group(1) in options:
            return m.group(1)
        norm = normalize(stripped)
        for key, text in options.items():
            if normalize(text) == norm:
                return key
        return None

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        options = self.options or parse_options(input)
        if not options:
            # Nothing to choose from: grade the answer text as a label.
            return NormalizedMatch(self.extract).score(output, target, input)
        if self.extract == "auto":
            key = extract_choice(output, options)
        else:
            text = extract_answer(output) if self.extract == "answer_is" else output
            key = extract_choice(text, options, use_answer_is=False) if text is not None else None
        if key is None:
            return ScoreResult(0.0, None)
        shown = f"({key})" if len(key) == 1 and key.isupper() else options[key]
        want = self._target_key(target, options)
        if want is None:  # target names no listed option (a few upstream BBH rows)
            return ScoreResult(float(normalize(options[key]) == normalize(target)), shown)
        return ScoreResult(float(key == want), shown)


class RegexMatch(Scorer):
    """Extracts with a user pattern (group 1 if the pattern has groups) and compares.

    Args:
        pattern: a Python regular expression.
        which: ``"first"`` or ``"last"`` match in the output.
        compare: ``"normalized"`` or ``"exact"`` comparison with the target.
        flags: ``re`` flags, e.g. ``re.IGNORECASE``.

    Raises:
        ConfigError: the pattern does not compile, or `which`/`compare` are unknown.
    """

    name = "regex"

    def __init__(
        self,
        pattern: str,
        which: Literal["first", "last"] = "last",
        compare: Literal["normalized", "exact"] = "normalized",
        flags: int = 0,
    ) -> None:
        super().__init__("none")
        try:
            self.regex = re.compile(pattern, flags)
        except re.error as exc:
            raise ConfigError(f"scorer regex {pattern!r} does not compile: {exc}") from None
        if which not in ("first", "last"):
            raise ConfigError(f"scorer regex which={which!r}: use 'first' or 'last'")
        if compare not in ("normalized", "exact"):
            raise ConfigError(f"scorer regex compare={compare!r}: use 'normalized' or 'exact'")
        self.which, self.compare = which, compare

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        matches = list(self.regex.finditer(output))
        if not matches:
            return ScoreResult(0.0, None)
        m = matches[0] if self.which == "first" else matches[-1]
        got = m.group(1) if self.regex.groups else m.group(0)
        got = (got or "").strip()
        if self.compare == "exact":
            return ScoreResult(float(got == target.strip()), got)
        return ScoreResult(float(normalize(got) == normalize(target)), got)


class NumericMatch(Scorer):
    """The last number in the answer equals the target's number within a tolerance.

    Args:
        abs_tol: absolute tolerance.
        rel_tol: relative tolerance.
        extract: see `Scorer`.
    """

    name = "numeric"

    def __init__(
        self, abs_tol: float = 1e-6, rel_tol: float = 1e-9, extract: Extract = "auto"
    ) -> None:
        super().__init__(extract)
        self.abs_tol, self.rel_tol = abs_tol, rel_tol

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        answer = self.answer_text(output)
        got = extract_number(answer) if answer is not None else None
        want = extract_number(target)
        if got is None:
            return ScoreResult(0.0, None)
        shown = f"{got:g}" if not got.is_integer() else str(int(got))
        if want is None:
            return ScoreResult(0.0, shown)
        ok = math.isclose(got, want, abs_tol=self.abs_tol, rel_tol=self.rel_tol)
        return ScoreResult(float(ok), shown)


class FunctionScorer(Scorer):
    """A user's Python function: ``module:function`` or ``path/to/file.py:function``.

    A module is imported with `base_dir` (the task file's folder) first on the path; a file
    path is relative to `base_dir`.

    The function is called as ``fn(output, target)`` or, if it takes three parameters (or one
    named ``input``), ``fn(output, target, input)``. It returns a bool, a number in [0, 1], or a
    ``(score, extracted)`` pair.

    Raises:
        ConfigError: the spec is malformed, the module or function cannot be found, or the
            function returns something else (raised when it is called).
    """

    name = "python"

    def __init__(self, spec: str | Callable[..., Any], base_dir: str | Path | None = None) -> None:
        super().__init__("none")
        if callable(spec):
            self.fn, self.spec = spec, getattr(spec, "__qualname__", repr(spec))
        else:
            self.fn, self.spec = self._resolve(spec, Path(base_dir or ".")), spec
        try:
            params = inspect.signature(self.fn).parameters
        except (TypeError, ValueError):
            params = {}
        positional = [
            p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        has_var = any(p.kind == p.VAR_POSITIONAL for p in params.values())
        self._pass_input = "input" in params or len(positional) >= 3 or has_var

    @staticmethod
    def _resolve(spec: str, base_dir: Path) -> Callable[..., Any]:
        module_name, sep, attr = spec.rpartition(":")
        if not sep or not module_name or not attr:
            raise ConfigError(
                f"scorer {spec!r}: write a Python scorer as 'module:function' or 'file.py:function'"
            )
        if module_name.endswith(".py"):
            module = _load_file(spec, base_dir / module_name)
        else:
            sys.path.insert(0, str(base_dir.resolve()))
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise ConfigError(
                    f"scorer {spec!r}: cannot import {module_name!r} ({exc}); "
                    f"looked in {str(base_dir)!r} and on sys.path"
                ) from None
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() at import too: a message, not our exit
                raise ConfigError(
                    f"scorer {spec!r}: importing {module_name!r} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            finally:
                sys.path.remove(str(base_dir.resolve()))
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise ConfigError(f"scorer {spec!r}: {module_name} has no function {attr!r}")
        return fn

    def score(self, output: str, target: str, input: str = "") -> ScoreResult:
        raw = self.fn(output, target, input) if self._pass_input else self.fn(output, target)
        extracted: str | None = None
        if isinstance(raw, tuple) and len(raw) == 2:
            raw, extracted = raw[0], None if raw[1] is None else str(raw[1])
        if isinstance(raw, bool):
            return ScoreResult(float(raw), extracted)
        if isinstance(raw, int | float) and 0.0 <= float(raw) <= 1.0:
            return ScoreResult(float(raw), extracted)
        raise ConfigError(
            f"scorer {self.spec!r} returned {raw!r}; return a bool, a number in [0, 1] "
            f"or a (score, extracted) pair"
        )


def _load_file(spec: str, path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"scorer {spec!r}: file {str(path)!r} does not exist")
    name = "workbench_user_scorer_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the user's file (sys.exit() too): a config problem
        raise ConfigError(f"scorer {spec!r}: {path} failed to load ({exc!r})") from None
    return module


_BY_NAME: dict[str, type[Scorer]] = {
    "exact": ExactMatch,
    "normalized": NormalizedMatch,
    "multiple_choice": MultipleChoice,
    "regex": RegexMatch,
    "numeric": NumericMatch,
    "python": FunctionScorer,
}


def make_scorer(spec: str | dict[str, Any] | Scorer, base_dir: str | Path | None = None) -> Scorer:
    """Resolve a task file's scorer (a `Scorer` passes straight through).

    Accepted forms: ``"exact"``, ``"normalized"``, ``"multiple_choice"``, ``"numeric"``,
    ``"python:module:function"``, ``"module:function"``, ``"my_scorer.py:function"``, or a
    mapping ``{"name": "regex", "pattern": "...", "which": "last"}`` whose other keys are the
    scorer's arguments.

    Args:
        spec: the scorer.
        base_dir: where Python scorers are looked up first (the task file's folder; default
            the current directory). ``file.py`` paths are relative to it.

    Raises:
        ConfigError: unknown name or bad arguments.
    """
    if isinstance(spec, Scorer):
        return spec
    if isinstance(spec, str):
        if spec in _BY_NAME and spec not in ("regex", "python"):
            return _BY_NAME[spec]()
        if spec.startswith("python:"):
            return FunctionScorer(spec.removeprefix("python:"), base_dir)
        if ":" in spec:
            return FunctionScorer(spec, base_dir)
        raise ConfigError(
            f"unknown scorer {spec!r}; known: {sorted(_BY_NAME)} or 'module:function'"
        )
    if isinstance(spec, dict):
        args = dict(spec)
        name = args.pop("name", None)
        if name not in _BY_NAME:
            raise ConfigError(f"scorer.name: unknown scorer {name!r}; known: {sorted(_BY_NAME)}")
        if name == "python":
            args = {"spec": args.pop("function", args.pop("spec", None)), **args}
            args.setdefault("base_dir", base_dir)
        try:
            return _BY_NAME[name](**args)
        except TypeError as exc:
            raise ConfigError(f"scorer {name!r}: bad arguments {sorted(args)} ({exc})") from None
    raise ConfigError(f"scorer: expected a name or a mapping, got {type(spec).__name__}")


def scorer_module(spec: Any, base_dir: str | Path | None = None) -> Path | str | None:
    """The user's module a Python scorer `spec` imports (as `make_scorer` resolves it): its
    file, or its name when it is not a file under `base_dir`; None for a built-in scorer.

    Example:
        >>> scorer_module("numeric") is None, scorer_module("python:my.scorers:grade", "/x")
        (True, 'my.scorers')
    """
    if isinstance(spec, dict):
        spec = spec.get("function", spec.get("spec")) if spec.get("name") == "python" else None
    if not isinstance(spec, str) or spec in _BY_NAME:
        return None
    module_name, sep, _ = spec.removeprefix("python:").rpartition(":")
    if not sep or not module_name:
        return None
    base = Path(base_dir or ".")
    if module_name.endswith(".py"):
        path = base / module_name
        return path if path.is_file() else None
    return module_file(base, module_name) or module_name


_BBH_NUMERIC = {"object_counting", "multistep_arithmetic_two"}
_BBH_EXACT = {"dyck_languages"}
_BBH_LABELS = {
    "boolean_expressions": ["True", "False"],
    "sports_understanding": ["yes", "no"],
    "web_of_lies": ["Yes", "No"],
}


def bbh_scorer(task: str) -> Scorer:
    """The usual scorer for a BBH task: numeric for counting/arithmetic, exact for Dyck
    languages, normalised for word sorting, multiple choice for everything with options or a
    fixed label set."""
    if task in _BBH_NUMERIC:
        return NumericMatch()
    if task in _BBH_EXACT:
        return ExactMatch()
    if task == "word_sorting":
        return NormalizedMatch()
    return MultipleChoice(options=_BBH_LABELS.get(task))
