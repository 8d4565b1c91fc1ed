"""Scripted C++ answers and a tiny MPI problem shared by the `*_mpi` generator tests."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from workbench.llm import CompletionRequest, CompletionResult
from workbench.llm.types import TokenLogprob
from workbench.tasks.mpi import library_dir

SIGNATURE = "double dot_product(std::vector<double> const& x, std::vector<double> const& y)"
HEAD = "#include <mpi.h>\n#include <vector>\n\n"
RANKS = """  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
"""
RIGHT = f"""```cpp
{HEAD}{SIGNATURE} {{
{RANKS}  const long n = static_cast<long>(x.size());
  double local = 0.0;
  for (long i = n * rank / size; i < n * (rank + 1) / size; ++i) local += x[i] * y[i];
  double total = 0.0;
  MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}}

int main() {{ return 0; }}
```"""
# drops the last n % size elements: fails at np=2 of the tiny problem (n = 999)
DROPS = RIGHT.replace(
    "n * rank / size; i < n * (rank + 1) / size", "(n / size) * rank; i < (n / size) * (rank + 1)"
)


def tiny_problem(root: Path) -> Path:
    """reduce_dot_product with n = 999 at np 1 and 2 (a remainder bug fails at np=2)."""
    src = library_dir() / "reduce_dot_product"
    dst = root / "tiny_dot"
    dst.mkdir(parents=True)
    for name in ("driver.cpp", "reference.hpp"):
        shutil.copy(src / name, dst / name)
    spec = yaml.safe_load((src / "problem.yaml").read_text())
    spec.update(name="tiny_dot", size={"n": 999}, np=[1, 2], iterations=1, wrong_fails_at=None)
    (dst / "problem.yaml").write_text(yaml.safe_dump(spec))
    return dst


BODY = (
    "  int r, s; MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &s);\n"
    "  long n = x.size(); double l = 0, t = 0;\n"
    "  for (long i = n * r / s; i < n * (r + 1) / s; ++i) l += x[i] * y[i];\n"
    "  MPI_Allreduce(&l, &t, 1, MPI_DOUBLE, MPI_"
)
OPS = [("MAX", -0.2), ("SUM", -1.9), ("PROD", -2.5)]  # greedy MAX validates at np=1 only
ENDING = ", MPI_COMM_WORLD);\n  return t;\n}\n```\nThis sums the blocks."


class CharModel:
    """A completion endpoint over byte tokens: greedy writes MPI_MAX, the 2nd choice MPI_SUM."""

    def __init__(self, prefill: str) -> None:
        self.prefill = prefill
        self.requests: list[CompletionRequest] = []

    def next_chars(self, generated: str) -> list[tuple[str, float]]:
        if generated == BODY:
            return [(op[0], lp) for op, lp in OPS]
        for op, _ in OPS:
            target = BODY + op + ENDING
            if target.startswith(generated) and len(generated) < len(target):
                return [(target[len(generated)], -0.01)]
        return [("`", -0.01)]

    def __call__(self, request: Any) -> CompletionResult:
        assert isinstance(request, CompletionRequest) and not isinstance(request.prompt, str)
        self.requests.append(request)
        text = bytes(request.prompt).decode()
        assert "```cpp\n" + self.prefill in text  # the C++ prompt, prefilled in the answer
        generated = text.rsplit(self.prefill, 1)[1]
        out, tokens = "", []
        for _ in range(request.max_tokens):
            alts = self.next_chars(generated + out)[: request.logprobs or 1]
            char, lp = alts[0]
            top = [(c, ord(c), p) for c, p in alts]
            tokens.append(TokenLogprob(char, ord(char), lp, top))
            out += char
            if request.stop and any(s in out for s in request.stop):
                cut = min(out.index(s) for s in request.stop if s in out)
                return CompletionResult(out[:cut], "scripted", tokens, finish_reason="stop")
        return CompletionResult(out, "scripted", tokens, finish_reason="length")
