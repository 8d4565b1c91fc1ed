"""MPI problems: the `problem.yaml` schema, loading a problem folder, the prompt shown to a model.

A problem is a folder (see ``tasks/mpi/README.md``)::

    <name>/problem.yaml   what to compute, the C++ signature, the prompt, size, np list, timeouts
    <name>/driver.cpp     WB_PROBLEM(t): one trial's inputs, the calls, the outputs to check
    <name>/reference.hpp  the serial reference (namespace ref), used by the driver only
    <name>/solution.cpp   a correct MPI solution (optional; the test suite requires it)
    <name>/wrong.cpp      a deliberately wrong one that fails at `wrong_fails_at` (optional)
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from workbench.errors import ConfigError
from workbench.quantities import Count, Seconds
from workbench.tasks._yaml import safe_load

__all__ = [
    "SMOKE_CAP",
    "MpiProblem",
    "MpiProblemSpec",
    "MpiTimeouts",
    "SpeedGate",
    "library_dir",
    "load_library",
    "load_problem",
    "problem_folders",
    "render_prompt",
]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER = re.compile(r"[A-Za-z0-9_./]+")
SMOKE_CAP = 64  # the largest size of the cascade's tiny first run, unless `smoke:` says


class MpiTimeouts(BaseModel, extra="forbid"):
    """Wall-clock limits: one compile, and each run at one np."""

    compile_s: Seconds = 60.0
    run_s: Seconds = 15.0
    smoke_s: Seconds = 5.0
    """The cascade's first run: the tiny input at np 2 (a hang shows here, in seconds)."""


class SpeedGate(BaseModel, extra="forbid"):
    """``speed_gate``: a run that validates but is slower than this fails (a program in which
    every rank does the whole work is correct, and no use)."""

    min_speedup: float = Field(gt=0)
    """Least speedup over the serial reference (its time over the candidate's, both measured
    by the judge on the timed trials)."""
    np: list[int] = Field(default_factory=lambda: [2], min_length=1)
    """The rank counts it applies at (not np = 1; more ranks than cores is slower anyway)."""


class MpiProblemSpec(BaseModel, extra="forbid"):
    """The contents of ``problem.yaml``."""

    name: str
    category: str
    description: str
    function: str
    signature: str
    includes: list[str] = Field(default_factory=lambda: ["vector"])
    prompt: str
    example: str = ""
    size: dict[str, int] = Field(default_factory=dict)
    """The inputs' sizes (key `n` is WB_N in the driver) of the checked and timed trials."""
    seed: int = 0
    """The seed of the first checked trial (trial k: seed + k)."""
    trials: int = Field(1, ge=1, le=100)
    """Checked trials at `size`, each with its own seed (random inputs of that size)."""
    edge: list[dict[str, int]] = Field(default_factory=list)
    """More checked trials, each at other sizes (keys of `size`; the rest as in `size`): the
    edge cases the contract must hold at, such as fewer elements than ranks."""
    held_out_size: dict[str, int] = Field(default_factory=dict)
    """Sizes of the final check of a tuned program (`MpiProblem.at_held_out_size`), never
    tuned on: a speedup that holds only at `size` is caught (keys of `size`; default: the
    first key of `size` doubled)."""
    smoke: dict[str, int] = Field(default_factory=dict)
    """The sizes of the cascade's first run, a tiny input at np 2 (keys of `size`; the rest are
    those of `size` capped at 64)."""
    iterations: int = Field(3, ge=1)
    """Timed trials at `size`, each with a fresh seed (checked too)."""
    np: list[int] = Field(default_factory=lambda: [1, 2, 3, 4], min_length=1)
    timeouts: MpiTimeouts = Field(default_factory=MpiTimeouts)
    speed_gate: SpeedGate | None = None
    """Fail a validated run slower than this (None: speed is measured, never gated)."""
    memory_mb: Count = 1024
    wrong_fails_at: list[int] | None = None

    @field_validator("function")
    @classmethod
    def _function_is_identifier(cls, v: str) -> str:
        if not _IDENT.fullmatch(v):
            raise ValueError(f"function {v!r} is not a C++ identifier")
        return v

    @field_validator("size")
    @classmethod
    def _size_keys(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k in v if not _IDENT.fullmatch(k) or k.upper() in ("SEED", "ITERS")]
        if bad:
            raise ValueError(f"size keys {bad} must be identifiers other than seed/iters")
        return v

    @model_validator(mode="after")
    def _edge_keys(self) -> MpiProblemSpec:
        for i, case in enumerate(self.edge):
            unknown = sorted(set(case) - set(self.size))
            if unknown:
                raise ValueError(f"edge.{i}: {unknown} are not keys of size {sorted(self.size)}")
        for field_name in ("smoke", "held_out_size"):
            unknown = sorted(set(getattr(self, field_name)) - set(self.size))
            if unknown:
                raise ValueError(
                    f"{field_name}: {unknown} are not keys of size {sorted(self.size)}"
                )
        return self

    @field_validator("includes")
    @classmethod
    def _includes(cls, v: list[str]) -> list[str]:
        bad = [h for h in v if not _HEADER.fullmatch(h)]
        if bad:
            raise ValueError(f"includes {bad} must be bare header names such as 'vector'")
        return v

    @field_validator("np")
    @classmethod
    def _np_positive(cls, v: list[int]) -> list[int]:
        if any(n < 1 for n in v) or len(set(v)) != len(v):
            raise ValueError(f"np {v} must be distinct positive rank counts")
        return v

    @model_validator(mode="after")
    def _signature_names_function(self) -> MpiProblemSpec:
        if not re.search(rf"\b{re.escape(self.function)}\s*\(", self.signature):
            raise ValueError(f"signature {self.signature!r} does not declare {self.function}(...)")
        if self.speed_gate is not None and not set(self.speed_gate.np) <= set(self.np):
            raise ValueError(f"speed_gate.np {self.speed_gate.np} is not a subset of np {self.np}")
        if self.wrong_fails_at is not None and not set(self.wrong_fails_at) <= set(self.np):
            raise ValueError(
                f"wrong_fails_at {self.wrong_fails_at} is not a subset of np {self.np}"
            )
        return self


@dataclass(frozen=True)
class MpiProblem:
    """A loaded problem: the spec plus the sources of its folder.

    Attributes:
        spec: the validated ``problem.yaml``.
        root: the problem folder.
        driver: driver.cpp text.
        reference: reference.hpp text.
        solution: solution.cpp text, or None when the folder has none.
        wrong: wrong.cpp text, or None.
    """

    spec: MpiProblemSpec
    root: Path
    driver: str
    reference: str
    solution: str | None = None
    wrong: str | None = None

    @property
    def name(self) -> str:
        """The problem's name (its folder name)."""
        return self.spec.name

    @property
    def function(self) -> str:
        """The name of the function the candidate writes."""
        return self.spec.function

    @property
    def signature(self) -> str:
        """The exact C++ signature (without a trailing ``;`` or ``{``)."""
        return self.spec.signature.strip().rstrip(";{").strip()

    @property
    def np(self) -> list[int]:
        """Rank counts to run at, in order."""
        return list(self.spec.np)

    @property
    def size_keys(self) -> list[str]:
        """The size keys in the order the driver reads them (WB_<KEY> is size `i`)."""
        return sorted(self.spec.size)

    def sizes(self, case: dict[str, int] | None = None) -> list[int]:
        """A trial's sizes in `size_keys` order: `size`, with `case`'s keys replaced."""
        merged = {**self.spec.size, **(case or {})}
        return [int(merged[k]) for k in self.size_keys]

    def smoke_sizes(self) -> list[int]:
        """The sizes of the cascade's tiny first run: `smoke`, the rest of `size` capped at
        `SMOKE_CAP`."""
        capped = {k: min(int(v), SMOKE_CAP) for k, v in self.spec.size.items()}
        return self.sizes({**capped, **self.spec.smoke})

    def at_held_out_size(self) -> MpiProblem:
        """This problem at its held-out size (`held_out_size`), for the final check of a
        tuned program: the same driver, trials at the other sizes (edge cases and the tiny
        first run as they are)."""
        held = dict(self.spec.held_out_size)
        if not held and self.spec.size:
            first = self.size_keys[0]
            held = {first: 2 * int(self.spec.size[first])}
        size = {**self.spec.size, **held}
        spec = self.spec.model_copy(update={"size": size, "held_out_size": held})
        return dataclasses.replace(self, spec=spec)

    @property
    def prompt(self) -> str:
        """The ParEval-style prompt: includes, a doc comment with an example, the open signature."""
        return render_prompt(self)


def render_prompt(problem: MpiProblem) -> str:
    """The code prompt a model completes (ParEval shape: it ends with the signature and ``{``).

    >>> from workbench.tasks.mpi import load_problem, library_dir
    >>> p = load_problem(library_dir() / "reduce_dot_product")
    >>> p.prompt.splitlines()[-1]
    'double dot_product(std::vector<double> const& x, std::vector<double> const& y) {'
    """
    spec = problem.spec
    lines = ["#include <mpi.h>"]
    lines += [f"#include <{h}>" for h in spec.includes]
    lines.append("")
    text = spec.prompt.strip().splitlines()
    if spec.example.strip():
        text += ["Example:", "", *spec.example.strip().splitlines()]
    lines.append("/* " + text[0])
    lines += [("   " + t).rstrip() for t in text[1:]]
    lines.append("*/")
    lines.append(problem.signature + " {")
    return "\n".join(lines)


def library_dir() -> Path:
    """The problem library shipped in the repository: ``<checkout>/tasks/mpi``."""
    return Path(__file__).resolve().parents[3] / "tasks" / "mpi"


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def load_problem(path: str | Path) -> MpiProblem:
    """Load one problem folder (or its ``problem.yaml``).

    Raises:
        ConfigError: the folder, the YAML or a required file is missing or invalid.
    """
    root = Path(path)
    if root.name == "problem.yaml":
        root = root.parent
    yaml_path = root / "problem.yaml"
    if not yaml_path.is_file():
        raise ConfigError(f"{yaml_path} not found: an MPI problem is a folder with problem.yaml")
    try:
        raw = safe_load(yaml_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{yaml_path} is not valid YAML: {exc}") from exc
    try:
        spec = MpiProblemSpec.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{yaml_path}: {where}: {first['msg']}") from exc
    if spec.name != root.name:
        raise ConfigError(
            f"{yaml_path}: name {spec.name!r} must equal the folder name {root.name!r}"
        )
    driver, reference = _read(root / "driver.cpp"), _read(root / "reference.hpp")
    if driver is None or reference is None:
        missing = "driver.cpp" if driver is None else "reference.hpp"
        raise ConfigError(f"{root / missing} not found: every MPI problem needs one")
    return MpiProblem(
        spec=spec,
        root=root,
        driver=driver,
        reference=reference,
        solution=_read(root / "solution.cpp"),
        wrong=_read(root / "wrong.cpp"),
    )


def problem_folders(path: str | Path) -> list[Path]:
    """`path` if it is a problem folder (it has a ``problem.yaml``), else the problem folders
    in it, sorted by name.

    Raises:
        ConfigError: `path` is neither.
    """
    path = Path(path).expanduser().resolve()
    if (path / "problem.yaml").is_file():
        return [path]
    found = sorted(p.parent for p in path.glob("*/problem.yaml"))
    if not found:
        raise ConfigError(
            f"{path} is not an MPI problem folder (no problem.yaml) and holds none "
            "(<folder>/<name>/problem.yaml)"
        )
    return found


def load_library(root: str | Path | None = None) -> list[MpiProblem]:
    """Every problem folder under `root` (default `library_dir()`), sorted by name."""
    base = Path(root) if root is not None else library_dir()
    if not base.is_dir():
        raise ConfigError(f"MPI problem library {base} not found")
    return [load_problem(p.parent) for p in sorted(base.glob("*/problem.yaml"))]
