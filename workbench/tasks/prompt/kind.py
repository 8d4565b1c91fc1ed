"""The `prompt` task kind: a candidate is an instruction plus exemplars, scored on validation.

A candidate payload is ``{"instruction": str, "exemplars": [...]}`` where each exemplar is
``{"input", "output"}`` (optionally ``"target"``) or ``"train:<i>"`` (the i-th training pair,
shown with its gold answer). ``"selection": "nearest"`` with ``"k"`` picks, per input, the k
exemplars of the list nearest to it (TF-IDF, `workbench.tasks.prompt.nearest`). Evaluating runs
the task model on the validation split (one chat call per example, temperature 0, batched over
the client's concurrency), grades each output and returns the accuracy as the primary score,
with one ``tests`` row per example (``input``, ``output``, ``target``, ``passed``) so optimizers
can harvest correct outputs and read failures. `PromptTask.evaluate_test` runs a payload once on
the test split; the run calls it through `PromptTask.finalize` on the final prompt. In a run the
task model comes from the run's `RunContext.llm` (`PromptTask.start`): its calls share the
run's budget and are logged as ``llm_call`` events with ``role: task``.

Example task file::

    name: bbh-navigate
    kind: prompt
    optimizer: {name: opro}
    budget: {evaluations: 8}
    llm: {model: local}              # the optimizer model
    prompt:
      dataset: navigate              # a BBH task, or a .jsonl path relative to this file
      split: {train: 20, val: 20, test: 50, seed: 0}
      instruction: "Let's think step by step."
      task_llm: {model: local}       # the task model (default: the `llm:` section)
      max_tokens: 256
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from workbench.contracts import Candidate, Evaluation
from workbench.errors import ConfigError, RunError
from workbench.llm import LLMConfig, open_llm
from workbench.quantities import Count
from workbench.tasks._resolve import check_import_time
from workbench.tasks.base import RunContext, Task
from workbench.tasks.prompt.data import Example, list_bbh_tasks, load_bbh, load_jsonl
from workbench.tasks.prompt.nearest import NearestIndex
from workbench.tasks.prompt.scorers import Scorer, bbh_scorer, make_scorer, scorer_module
from workbench.tasks.prompt.split import Splits, split
from workbench.tasks.prompt.template import PromptTemplate, Shot

__all__ = [
    "ExampleResult",
    "PromptSection",
    "PromptTask",
    "ScorerFailed",
    "SplitSpec",
    "build_prompt_task",
]

_STRICT = ConfigDict(extra="forbid")


def _plain_size(value: Any) -> Any:
    # pydantic reads true as 1, and .inf / .nan are floats: refused before they become sizes
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number (no .inf, no .nan)")
    return value


def _size_in_range(value: int | float) -> int | float:
    if isinstance(value, int) and value < 0:
        raise ValueError("a count cannot be negative")
    if isinstance(value, float) and not 0.0 <= value <= 1.0:
        raise ValueError(
            "a fraction of the dataset is from 0 to 1; write a count as a whole number "
            "(20, not 20.5 or 20.0)"
        )
    return value


SplitSize = Annotated[int | float, BeforeValidator(_plain_size), AfterValidator(_size_in_range)]
"""A split size: a count of examples (a whole number, at least 0) or a fraction (0 to 1)."""


class SplitSpec(BaseModel):
    """Split sizes (counts or fractions) and the shuffle seed."""

    model_config = _STRICT
    train: SplitSize = 20
    val: SplitSize = 20
    test: SplitSize | None = 50
    seed: int = 0
    test_seed: int | None = Field(None, description="draw test apart: shared across seeds")


class PromptSection(BaseModel):
    """The `prompt:` section of a task file."""

    model_config = _STRICT
    dataset: str = Field(min_length=1, description="BBH task name or a .jsonl path")
    input_key: str = "input"
    target_key: str = "target"
    split: SplitSpec = Field(default_factory=SplitSpec)
    scorer: str | dict[str, Any] = Field("auto", description="'auto': BBH's scorer or normalized")
    template: dict[str, Any] = Field(default_factory=dict, description="PromptTemplate fields")
    render: Literal["chat", "text"] = "chat"
    instruction: str = "Let's think step by step, then finish with 'So the answer is X.'"
    k: Count = Field(3, description="exemplars per prompt")
    task_llm: Any = Field(None, description="LLMConfig of the task model (default: `llm:`)")
    max_tokens: Count = 256

    @field_validator("scorer")
    @classmethod
    def _scorer_import_time(cls, value: Any, info: ValidationInfo) -> Any:
        # a Python scorer is imported when the task is built; a module that hangs at import is
        # stopped here first (`workbench validate` / `optimize --import-timeout`)
        context = info.context or {}
        timeout_s = context.get("import_timeout_s")
        if timeout_s is not None:
            module = scorer_module(value, context.get("base_dir", "."))
            if module is not None:
                check_import_time(module, timeout_s)
        return value

    @field_validator("task_llm", mode="before")
    @classmethod
    def _llm(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return value if isinstance(value, LLMConfig) else LLMConfig.model_validate(value)


class ScorerFailed(RunError):
    """The scorer raised on an output (a user's function: `sys.exit()` too), or returned
    something that is not a score. `PromptTask.evaluate` makes it that evaluation's error;
    raised elsewhere (an optimizer's own use of `PromptTask.run`) it stops the run with its
    message."""

    def __init__(self, message: str, trace: str = "") -> None:
        super().__init__(message)
        self.trace = trace


@dataclass(frozen=True)
class ExampleResult:
    """One graded task-model output."""

    input: str
    output: str
    target: str
    correct: bool
    extracted: str | None

    def to_test(self, name: str) -> dict[str, Any]:
        """The `Evaluation.tests` row."""
        return {
            "name": name,
            "passed": self.correct,
            "message": f"extracted {self.extracted!r}, expected {self.target!r}",
            "input": self.input,
            "output": self.output,
            "target": self.target,
        }


class PromptTask(Task):
    """Scores prompts with a task model on a labelled dataset (see the module docstring).

    Args:
        name: the task name.
        section: the validated `prompt:` section.
        base_dir: the folder relative dataset and scorer paths resolve against.
        evaluations: the task file's ``budget.evaluations`` (validation prompt evaluations).
        default_llm: the task file's `llm:` config, used when `task_llm` is not set.
    """

    primary = "accuracy"
    direction = "maximize"

    def __init__(
        self,
        name: str,
        section: PromptSection,
        base_dir: Path,
        *,
        evaluations: int | None = None,
        default_llm: Any = None,
    ) -> None:
        self.name = name
        self.section = section
        self.base_dir = base_dir
        self.evaluations = evaluations
        self.llm_config = section.task_llm if section.task_llm is not None else default_llm
        if section.dataset in list_bbh_tasks():
            examples = load_bbh(section.dataset)
            default_scorer: Scorer = bbh_scorer(section.dataset)
        elif section.dataset.endswith(".jsonl"):
            path = Path(section.dataset)
            examples = load_jsonl(
                path if path.is_absolute() else base_dir / path,
                section.input_key,
                section.target_key,
            )
            default_scorer = make_scorer("normalized")
        else:
            raise ConfigError(
                f"prompt.dataset {section.dataset!r}: give a BBH task name "
                f"(e.g. 'navigate') or a .jsonl file path"
            )
        s = section.split
        self.splits: Splits[Example] = split(
            examples, train=s.train, val=s.val, test=s.test, seed=s.seed, test_seed=s.test_seed
        )
        if not self.splits.val:
            raise ConfigError("prompt.split.val is 0: the validation split cannot be empty")
        self.scorer: Scorer = default_scorer
        if section.scorer != "auto":
            try:
                self.scorer = make_scorer(section.scorer, base_dir)
            except ConfigError as exc:  # the message names the task file's field first
                raise ConfigError(f"prompt.scorer: {exc}") from None
        self.template = PromptTemplate(**section.template)
        self._client: Any = None
        self._ctx: RunContext | None = None
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()

    # -- the task model -----------------------------------------------------------------------
    def use_client(self, client: Any) -> None:
        """Use `client` (an `LLMClient`, e.g. a `ScriptedLLM`) as the task model."""
        self._client = client

    def start(self, ctx: RunContext) -> None:
        """Take the task model from the run's context (`RunContext.llm`), so that its calls
        share the run's budget and are logged as ``llm_call`` events with ``role: task``."""
        self._ctx = ctx

    def client(self) -> Any:
        """The task model's `LLMClient`: the one given to `use_client`, else the run's
        (`start`), else one this task opens on first use (`close` releases it)."""
        with self._lock:
            if self._client is None and self._ctx is not None:
                self._client = self._ctx.llm(self.llm_config)
            if self._client is None:
                config = self.llm_config if self.llm_config is not None else "local"
                self._client = self._stack.enter_context(open_llm(config))
            return self._client

    def close(self) -> None:
        """Close a task-model client this task opened."""
        self._stack.close()

    @property
    def usage(self) -> Any:
        """The task model's `Usage` (None before the first call)."""
        return None if self._client is None else self._client.usage

    # -- running prompts ----------------------------------------------------------------------
    def shots(self, payload: dict[str, Any]) -> list[Shot]:
        """The payload's exemplars as `Shot`s (``"train:<i>"`` ids resolved)."""
        out = []
        for item in payload.get("exemplars") or []:
            if isinstance(item, str) and item.startswith("train:"):
                try:
                    ex = self.splits.train[int(item.removeprefix("train:"))]
                except (ValueError, IndexError):
                    raise ConfigError(f"exemplar id {item!r}: no such training example") from None
                out.append(Shot(ex.input, ex.target, ex.target))
            elif isinstance(item, dict) and "input" in item and "output" in item:
                out.append(
                    Shot(str(item["input"]), str(item["output"]), str(item.get("target", "")))
                )
            else:
                raise ConfigError(f"exemplar {item!r}: give {{input, output}} or 'train:<i>'")
        return out

    def _per_input(self, payload: dict[str, Any]) -> Any:
        shots = self.shots(payload)
        if payload.get("selection") != "nearest" or not shots:
            return lambda _query: shots
        k = int(payload.get("k", self.section.k))
        if k < 1:
            raise ConfigError(f"exemplar selector 'nearest': k={k} must be at least 1")
        index = NearestIndex([s.input for s in shots])
        return lambda query: [shots[i] for i in index.nearest(query, k)]

    def messages(self, instruction: str, shots: list[Shot], input: str) -> list[dict[str, str]]:
        """The chat messages of one prompt (``render: text`` sends one user message)."""
        if self.section.render == "text":
            return [
                {"role": "user", "content": self.template.render_text(instruction, shots, input)}
            ]
        return self.template.render_messages(instruction, shots, input)

    def run(self, payload: dict[str, Any], examples: list[Example]) -> list[ExampleResult]:
        """Run the payload's prompt on `examples` (one task-model call each) and grade them.

        Raises:
            ScorerFailed: the scorer raised on an output (`sys.exit()` included), or returned
                something that is not a score.
        """
        instruction = str(payload.get("instruction", ""))
        pick = self._per_input(payload)
        client = self.client()
        prompts = [self.messages(instruction, pick(e.input), e.input) for e in examples]

        def call(messages: list[dict[str, str]]) -> str:
            result = client.chat(messages, temperature=0.0, max_tokens=self.section.max_tokens)
            return result.texts[0] if result.texts else ""

        workers = max(1, int(getattr(self.llm_config, "concurrency", 4) or 4))
        with ThreadPoolExecutor(max_workers=min(workers, max(len(examples), 1))) as pool:
            outputs = list(pool.map(call, prompts))
        results = []
        for ex, out in zip(examples, outputs, strict=True):
            try:
                graded = self.scorer(out, ex.target, ex.input)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # sys.exit() too: it ends this evaluation, not the run
                text = f"the scorer failed on {ex.input[:80]!r}: {type(exc).__name__}: {exc}"
                raise ScorerFailed(text, traceback.format_exc()) from None
            results.append(
                ExampleResult(ex.input, out, ex.target, graded.correct, graded.extracted)
            )
        return results

    def val_indices(self, payload: dict[str, Any]) -> list[int]:
        """The validation examples a payload is evaluated on: ``payload["val"]`` (indices into
        the validation split, for racing optimizers) or all of them.

        Raises:
            ConfigError: an index outside the validation split, or an empty list.
        """
        given = payload.get("val")
        if given is None:
            return list(range(len(self.splits.val)))
        idx = [int(i) for i in given]
        if not idx or any(not 0 <= i < len(self.splits.val) for i in idx):
            raise ConfigError(
                f"payload val={given!r}: give indices in 0..{len(self.splits.val) - 1}"
            )
        return idx

    def evaluate(self, candidate: Candidate, ctx: RunContext) -> Evaluation:
        """Validation accuracy of the candidate's prompt, with per-example rows (on the
        examples `val_indices` names; each row carries its ``val_index``)."""
        start = time.monotonic()
        try:
            self.shots(candidate.payload)
        except ConfigError as exc:
            return Evaluation(candidate.id, "error", primary=self.primary, feedback=str(exc))
        try:
            idx = self.val_indices(candidate.payload)
        except ConfigError as exc:
            return Evaluation(candidate.id, "error", primary=self.primary, feedback=str(exc))
        try:
            results = self.run(candidate.payload, [self.splits.val[i] for i in idx])
        except ScorerFailed as exc:
            return Evaluation(
                candidate.id,
                "error",
                primary=self.primary,
                output=exc.trace,
                timings={"eval_s": time.monotonic() - start},
                feedback=str(exc),
            )
        accuracy = sum(r.correct for r in results) / len(results)
        failures = [r for r in results if not r.correct]
        feedback = f"validation accuracy {accuracy:.3f} ({len(results) - len(failures)}/"
        feedback += f"{len(results)} correct)"
        if failures:
            f = failures[0]
            feedback += f"; e.g. got {f.extracted!r} for target {f.target!r}"
        return Evaluation(
            candidate_id=candidate.id,
            status="ok",
            scores={"accuracy": accuracy, "correct": float(len(results) - len(failures))},
            primary=self.primary,
            direction="maximize",
            tests=[
                r.to_test(f"val[{i}]") | {"val_index": i} for i, r in zip(idx, results, strict=True)
            ],
            timings={"eval_s": time.monotonic() - start},
            feedback=feedback,
        )

    def evaluate_test(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Accuracy of `payload` on the test split (call once, for the final prompt); a scorer
        that fails gives no accuracy and its ``error``."""
        if not self.splits.test:
            return {"accuracy": None, "n": 0}
        try:
            results = self.run(payload, self.splits.test)
        except ScorerFailed as exc:
            return {"accuracy": None, "n": len(self.splits.test), "error": str(exc)}
        return {"accuracy": sum(r.correct for r in results) / len(results), "n": len(results)}

    def finalize(
        self, best: Candidate, evaluation: Evaluation | None, ctx: RunContext
    ) -> dict[str, Any]:
        """The final prompt's test accuracy, next to its validation accuracy and their gap.

        The validation accuracy is ``best.meta["val_accuracy"]`` when the optimizer gives it (a
        prompt raced over several evaluations on parts of the validation split), else the
        score of `evaluation`.

        Makes ``len(test)`` task-model calls, charged to the run's budget.
        """
        if self._ctx is None and self._client is None:
            self._ctx = ctx
        val = evaluation.score if evaluation is not None else None
        if best.meta.get("val_accuracy") is not None:  # a racing optimizer's aggregate
            val = float(best.meta["val_accuracy"])
        test = self.evaluate_test(best.payload)
        out: dict[str, Any] = {
            "val_accuracy": val,
            "test_accuracy": test["accuracy"],
            "test_size": test["n"],
        }
        if test.get("error"):
            out["test_error"] = test["error"]
        if val is not None and test["accuracy"] is not None:
            out["gap"] = val - test["accuracy"]
        return out

    # -- Task API -----------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Everything that changes an evaluation (the task model included)."""
        llm = self.llm_config
        llm = llm.model_dump(mode="json") if hasattr(llm, "model_dump") else llm
        return {
            **super().config(),
            "section": self.section.model_dump(mode="json", exclude={"task_llm"}),
            "task_llm": llm,
        }

    def describe(self) -> str:
        """The task for an optimizer model: dataset and a labelled example."""
        ex = self.splits.train[0] if self.splits.train else self.splits.val[0]
        return (
            f"Prompt task {self.name!r} on {self.section.dataset!r}: write an instruction so a "
            f"model answers correctly. Example input: {ex.input[:300]!r} -> {ex.target!r}"
        )


def build_prompt_task(task_file: Any) -> PromptTask:
    """The `register_kind` factory: a `PromptTask` from a validated task file."""
    section = task_file.section
    return PromptTask(
        task_file.name,
        section,
        Path(task_file.base_dir),
        evaluations=task_file.budget.evaluations,
        default_llm=task_file.llm,
    )
