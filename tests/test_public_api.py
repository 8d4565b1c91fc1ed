"""The public surface of each layer is pinned: a name that appears or disappears fails here.

When you change a layer's `__all__` on purpose, update its entry below in the same commit.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

PUBLIC = {
    "workbench": [
        "Agent",
        "BudgetExceeded",
        "ConfigError",
        "Module",
        "OptoPrime",
        "RunError",
        "UserError",
        "WorkbenchError",
        "__version__",
        "bundle",
        "compose",
        "node",
        "optimize",
    ],
    "workbench.errors": [
        "BudgetExceeded",
        "ConfigError",
        "EndpointError",
        "EngineUnavailable",
        "INFRASTRUCTURE",
        "ModelAnswerError",
        "NotSetUp",
        "PartBudgetExceeded",
        "RunError",
        "SandboxFailure",
        "UserError",
        "WorkbenchError",
    ],
    "workbench.contracts": [
        "Candidate",
        "Direction",
        "Evaluation",
        "OUTPUT_CAP",
        "Score",
        "Status",
        "better",
    ],
    "workbench.quantities": [
        "Count",
        "CountOrZero",
        "FiniteFloat",
        "Fraction",
        "MAX_COUNT",
        "MAX_SECONDS",
        "NonNegative",
        "Positive",
        "Seconds",
    ],
    "workbench.llm": [
        "Budget",
        "CachedLLM",
        "CallRecord",
        "ChatRequest",
        "ChatResult",
        "CompletionRequest",
        "CompletionResult",
        "DEFAULT_LOCAL_MODEL",
        "FunctionLLM",
        "LLMClient",
        "LLMConfig",
        "LLMRequestError",
        "LimitedLLM",
        "MeteredLLM",
        "OpenAIClient",
        "PRICES",
        "PartBudget",
        "ResponseCache",
        "RetryingLLM",
        "ScriptedLLM",
        "StructuredResult",
        "TEST_LOCAL_MODEL",
        "TokenLogprob",
        "Usage",
        "WrapperLLM",
        "allow_model_requests",
        "check_allow_model_requests",
        "open_llm",
        "parse_model",
        "wrap",
    ],
    "workbench.sandbox": [
        "DockerSandbox",
        "ExecResult",
        "FunctionSandbox",
        "Judge",
        "Limits",
        "LocalSandbox",
        "RunRequest",
        "Sandbox",
        "SandboxConfig",
        "Status",
        "allow_docker",
        "build_image",
        "default_image",
        "docker_allowed",
        "open_sandbox",
    ],
    "workbench.bench": [
        "BENCH_GENERATORS",
        "BENCH_OPTIMIZERS",
        "DEFAULT_CODE_MODEL",
        "HUMANEVAL_SUBSET",
        "ProblemRecord",
        "RunRecord",
        "SUITE_DIR",
        "SuiteTask",
        "bench_server",
        "format_table",
        "initial_configs",
        "load_reference",
        "load_suite",
        "normalised_regret",
        "run_bench",
        "run_code_bench",
        "run_one",
        "select_problems",
        "summarize",
        "summarize_code",
    ],
    "workbench.testing": ["OptimizerCase", "Subject", "json_problem", "open_subject"],
    "workbench.trace": [
        "BackwardPass",
        "CodeCall",
        "CodeError",
        "ExceptionNode",
        "ExecutionError",
        "Feedback",
        "FunModule",
        "FunctionSource",
        "Graph",
        "MessageNode",
        "Module",
        "Node",
        "ParameterNode",
        "RemoteError",
        "Subgraph",
        "apply_op",
        "backward",
        "bundle",
        "check_code",
        "compile_code",
        "current_graph",
        "is_tracing",
        "model",
        "named_parameters",
        "node",
        "stop_tracing",
        "subgraph",
        "to_dot",
        "to_svg",
        "use_graph",
        "zero_feedback",
    ],
    "workbench.tasks": [
        "BudgetSpec",
        "HpoSection",
        "HpoTask",
        "Kind",
        "OptimizerSpec",
        "ProvidesPublicProblem",
        "ProvidesSandboxConfig",
        "ProvidesTraceParameters",
        "RunContext",
        "StopSpec",
        "Task",
        "TaskFile",
        "build_task",
        "get_kind",
        "kind_names",
        "load_task",
        "load_task_file",
        "parse_task_data",
        "parse_task_text",
        "register_kind",
        "task_file_model",
    ],
    "workbench.optimizers": [
        "FunctionOptimizer",
        "OPTIMIZERS",
        "Optimizer",
        "Registered",
        "RoutedOptimizer",
        "RunContext",
        "SettingsError",
        "make_optimizer",
        "optimizer_names",
    ],
    "workbench.agents": [
        "Loop",
        "LoopSettings",
        "LoopState",
        "RunStore",
        "cache_key",
        "open_checkpointer",
        "run_graph",
    ],
    "workbench.runs": [
        "EventLog",
        "PromptRunResult",
        "RunDir",
        "RunResult",
        "Session",
        "check_task",
        "create_run",
        "default_runs_dir",
        "find_run",
        "list_runs",
        "prepare_run",
        "read_events",
        "resume_run",
        "run_prompt",
        "start_run",
        "write_report",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == PUBLIC[module]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_exists(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ lists names it does not define: {missing}"


HEAVY = ("langgraph", "openai", "docker")


def test_import_workbench_stays_light() -> None:
    """`import workbench` (the short API) loads none of the heavy packages; `wb.OptoPrime` and
    `wb.optimize` import theirs when used. A fresh interpreter, so nothing is imported yet."""
    code = (
        "import json, sys\n"
        "import workbench as wb\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'dir': 'OptoPrime' in dir(wb)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert json.loads(out.splitlines()[-1]) == {"heavy": [], "dir": True}
