"""Every code generator on the `mpi` kind, end to end through `start_run`, with scripted C++
answers and the local sandbox on the host's MPICH (the Docker variant: marker `docker`)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.needs import missing
from tests.optimizers.codegen.scripted_mpi import (
    DROPS,
    HEAD,
    RANKS,
    RIGHT,
    SIGNATURE,
    CharModel,
    tiny_problem,
)
from workbench.llm import ChatRequest, ScriptedLLM
from workbench.optimizers.codegen.funcoder.prompts import CONQUER_SYSTEM_CPP, DIVIDE_SYSTEM_CPP
from workbench.runs import start_run
from workbench.tasks.mpi import library_dir, load_problem

pytestmark = pytest.mark.slow


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The sandbox backend of the task file (local: the host's MPICH)."""
    if request.param == "local" and (
        shutil.which("mpicxx") is None or shutil.which("mpirun") is None
    ):
        missing("host MPICH is not installed (apt-get install mpich libmpich-dev)")
    if request.param == "docker":
        request.getfixturevalue("docker_sandbox")  # skips (or fails in CI) without the image
    yield request.param


def run(tmp_path: Path, backend: str, optimizer: dict[str, Any], budget: dict[str, Any], fn: Any,
        parallel: int = 1) -> Any:  # fmt: skip
    tiny_problem(tmp_path)
    task = {
        "name": "tiny-dot",
        "kind": "mpi",
        "seed": 0,
        "sandbox": {"backend": backend},
        "optimizer": optimizer,
        "budget": budget,
        "parallel": parallel,
        "mpi": {"problem": "./tiny_dot"},
    }
    path = tmp_path / "task.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False))

    def make_llm(budget: Any = None, on_call: Any = None) -> ScriptedLLM:
        return ScriptedLLM(fn, budget=budget, on_call=on_call)

    return start_run(path, tmp_path / "runs", make_llm=make_llm)


def events(result: Any, kind: str) -> list[dict[str, Any]]:
    lines = (result.run.path / "events.jsonl").read_text().splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == kind]


def assert_never_shown(requests: list[Any]) -> None:
    """The model never sees the reference, the driver or the solution files."""
    problem = load_problem(library_dir() / "reduce_dot_product")
    for request in requests:
        text = json.dumps(request.messages) if isinstance(request, ChatRequest) else ""
        assert "ref::" not in text and "wb::" not in text
        assert problem.solution is not None and problem.solution.strip() not in text


def test_sample_repairs_from_the_per_np_feedback(tmp_path: Path, backend: str) -> None:
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return DROPS if len(asked) == 1 else RIGHT

    result = run(tmp_path, backend, {"name": "sample"}, {"iterations": 4, "llm_calls": 4}, model)
    assert result.summary["best"]["score"] == 1.0 and len(asked) == 2
    first = asked[0].messages[-1]["content"]
    assert "```cpp" in first and SIGNATURE + " {" in first and "np = 1, 2" in first
    repair = asked[1].messages[-1]["content"]
    assert "np=1: PASS" in repair and "np=2: " in repair and "expected" in repair
    assert_never_shown(asked)
    proposals = events(result, "proposal")
    assert [p["meta"]["mode"] for p in proposals] == ["solve", "repair"]
    assert all(p["meta"]["prompt_version"] == "sample-cpp-2" for p in proposals)
    evals = events(result, "evaluation")
    assert [e["scores"]["np_pass_rate"] for e in evals] == [0.5, 1.0]
    assert (result.run.path / "best.json").is_file()


def test_sample_feeds_compile_errors_back(tmp_path: Path, backend: str) -> None:
    asked: list[ChatRequest] = []
    broken = RIGHT.replace("double total = 0.0;", "double total = undefined_name;")

    def model(request: ChatRequest) -> str:
        asked.append(request)
        return broken if len(asked) == 1 else RIGHT

    result = run(tmp_path, backend, {"name": "sample"}, {"iterations": 3, "llm_calls": 3}, model)
    assert result.summary["best"]["score"] == 1.0
    assert "undefined_name" in asked[1].messages[-1]["content"]  # the compiler's message


HELPER_DIVIDE = f"""```cpp
{HEAD}/* Sum of x[i] * y[i] for i in [b, e). */
double local_dot(std::vector<double> const& x, std::vector<double> const& y, long b, long e) {{
  // TODO: implement this function
}}

{SIGNATURE} {{
{RANKS}  const long n = static_cast<long>(x.size());
  double local = local_dot(x, y, n * rank / size, n * (rank + 1) / size);
  double total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}}
```"""
HELPER_RIGHT = """```cpp
double local_dot(std::vector<double> const& x, std::vector<double> const& y, long b, long e) {
  double s = 0.0;
  for (long i = b; i < e; ++i) s += x[i] * y[i];
  return s;
}
```"""
HELPER_WRONG = HELPER_RIGHT.replace("i < e;", "i + 1 < e;")  # drops each block's last element


def test_funcoder_divides_conquers_and_votes_through_the_driver(
    tmp_path: Path, backend: str
) -> None:
    asked: list[ChatRequest] = []

    def model(request: ChatRequest) -> str:
        asked.append(request)
        system = request.messages[0]["content"]
        if system == DIVIDE_SYSTEM_CPP:
            return HELPER_DIVIDE
        assert system == CONQUER_SYSTEM_CPP
        if SIGNATURE in request.messages[-1]["content"]:  # the root, last after its helper
            if "local_dot" not in request.messages[-1]["content"]:  # the direct sample
                return DROPS
            return [DROPS, RIGHT, RIGHT][request.sample_index]
        return [HELPER_WRONG, HELPER_RIGHT, HELPER_RIGHT][request.sample_index]

    settings = {"conquer_samples": 3, "max_depth": 0}
    result = run(tmp_path, backend, {"name": "funcoder", "settings": settings},
                 {"iterations": 2, "llm_calls": 12}, model)  # fmt: skip
    assert result.summary["best"]["score"] == 1.0
    assert_never_shown(asked)
    (proposal,) = events(result, "proposal")
    meta = proposal["meta"]
    assert meta["prompt_version"] == "funcoder-cpp-3" and meta["sandbox_runs"] > 0
    votes = {v["function"]: v for v in meta["consensus"]}
    assert set(votes) == {"local_dot", "dot_product"}
    helper, root = votes["local_dot"], votes["dot_product"]
    # 3 samples (the divide left the helper a stub); the wrong one fails the driver's checks
    # (firm-test penalty), the two right ones agree on PASS at every np
    assert helper["candidates"] == 3 and helper["inputs"] == 0
    assert helper["scores"][0] < -1000 and helper["best"] in (1, 2)
    # the architect's root, the direct (helper-free) sample, then the 3 samples: 5
    # candidates; the remainder-dropping ones (the direct one, sample 0) lose
    assert root["candidates"] == 5 and root["best"] not in (1, 2)
    assert root["scores"][1] < -1000 and root["scores"][2] < -1000
    (evaluation,) = events(result, "evaluation")
    assert evaluation["scores"]["passed"] == 1.0
    assert meta["llm_calls"] == len(asked) == 8  # 1 divide + 1 direct + 3 + 3 conquer samples


def test_pgtd_searches_tokens_rewarded_by_the_np_pass_rate(tmp_path: Path, backend: str) -> None:
    prefill = load_problem(tiny_problem(tmp_path / "p")).prompt + "\n"
    model = CharModel(prefill)
    settings = {"max_calls": 10, "horizon": 400}
    result = run(tmp_path, backend, {"name": "pgtd", "settings": settings},
                 {"iterations": 3, "llm_calls": 10}, model)  # fmt: skip
    assert result.summary["best"]["score"] == 1.0
    assert 1 <= len(model.requests) == result.summary["llm"]["calls"] <= 10
    proposals = events(result, "proposal")
    assert all(p["meta"]["prompt_version"] == "pgtd-cpp-1" for p in proposals)
    rewards = [p["meta"]["public_reward"] for p in proposals]
    # greedy MPI_MAX is wrong at np=2, where the cascade's tiny first run stops it before any
    # np is checked; MPI_SUM passes at both nps
    assert rewards[:2] == [0.0, 1.0]
    evals = events(result, "evaluation")
    assert [e["scores"]["np_pass_rate"] for e in evals[:2]] == rewards[:2]


SIBLINGS_DIVIDE = f"""```cpp
{HEAD}/* First index of this rank's block of n elements. */
long block_begin(long n, int rank, int size) {{
  // TODO: implement this function
}}

/* One past the last index of this rank's block of n elements. */
long block_end(long n, int rank, int size) {{
  // TODO: implement this function
}}

{SIGNATURE} {{
{RANKS}  const long n = static_cast<long>(x.size());
  double local = 0.0;
  for (long i = block_begin(n, rank, size); i < block_end(n, rank, size); ++i)
    local += x[i] * y[i];
  double total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}}
```"""
BEGIN = "```cpp\nlong block_begin(long n, int rank, int size) {\n  return n * rank / size;\n}\n```"
END = (
    "```cpp\nlong block_end(long n, int rank, int size) {\n  return n * (rank + 1) / size;\n}\n```"
)
BEGIN_WRONG = BEGIN.replace("/ size;", "/ size + 1;")  # skips each block's first element
END_WRONG = END.replace("/ size;", "/ size - 1;")  # drops each block's last element


def test_funcoder_votes_on_sibling_helpers_with_the_program_whole(
    tmp_path: Path, backend: str
) -> None:
    """block_begin is voted on while block_end has only its provisional pick (its first sample,
    right here): the whole program runs, so the wrong block_begin sample loses; then block_end
    is voted on with the winning block_begin in place."""

    def model(request: ChatRequest) -> str:
        system, last = request.messages[0]["content"], request.messages[-1]["content"]
        if system == DIVIDE_SYSTEM_CPP:
            return SIBLINGS_DIVIDE
        if SIGNATURE in last:
            return RIGHT
        if "long block_begin(long n, int rank, int size) {\n    // TODO" in last:
            return [BEGIN_WRONG, BEGIN, BEGIN][request.sample_index]
        return [END, END_WRONG, END][request.sample_index]

    settings = {"conquer_samples": 3, "max_depth": 0}
    # a budget with room for every vote: a tighter one would give the stubs one sample each
    result = run(tmp_path, backend, {"name": "funcoder", "settings": settings},
                 {"iterations": 2, "llm_calls": 16}, model)  # fmt: skip
    assert result.summary["best"]["score"] == 1.0
    (proposal,) = events(result, "proposal")
    votes = proposal["meta"]["consensus"]
    assert [v["function"] for v in votes] == ["block_begin", "block_end", "dot_product"]
    begin, end = votes[0], votes[1]
    assert begin["scores"][0] < -1000 and begin["best"] in (1, 2)  # wrong begin: fails at np
    assert end["scores"][1] < -1000 and end["best"] in (0, 2)
    assert max(begin["scores"]) > -1000 and max(end["scores"]) > -1000  # some program passed
    assert proposal["meta"]["llm_calls"] == 11  # 1 divide + 1 direct + 3 x 3 conquer samples
