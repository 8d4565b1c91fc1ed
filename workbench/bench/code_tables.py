"""Tables of `workbench bench code` results: rich tables for the terminal, Markdown for notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from workbench.bench.code_setup import budget_text

if TYPE_CHECKING:  # code.py imports this module: the record type is for annotations only
    from workbench.bench.code import ProblemRecord

__all__ = [
    "format_markdown",
    "format_projection_markdown",
    "problems_table",
    "projection_rows",
    "projection_table",
    "summary_table",
]


def _f(v: Any, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def summary_table(summary: dict[str, Any]) -> Any:
    """A rich Table of `summarize_code`'s result, one row per (generator, kind)."""
    table = Table(title="bench code: per generator")
    for col in ("generator", "kind", "problems", "pass@1", "pass@5", "calls", "prompt tok",
                "compl tok", "wall s", "budget"):  # fmt: skip
        table.add_column(col, justify="left" if col in ("generator", "kind", "budget") else "right")
    for gen, kinds in summary.items():
        for kind, s in kinds.items():
            done = f"{s['problems']}" + (f" (+{s['skipped']} skipped)" if s["skipped"] else "")
            table.add_row(
                gen, kind, done,
                _f(s.get("pass@1"), 3), _f(s.get("pass@5"), 3), _f(s.get("mean_llm_calls"), 1),
                _f(s.get("mean_prompt_tokens"), 0), _f(s.get("mean_completion_tokens"), 0),
                _f(s.get("mean_wall_s"), 1), str(s.get("budget", "")),
            )  # fmt: skip
    return table


def problems_table(records: list[ProblemRecord]) -> Any:
    """A rich Table with one row per (generator, problem) record."""
    table = Table(title="bench code: per problem")
    for col in ("generator", "problem", "pass", "n", "correct", "public", "hidden",
                "calls/proj", "prompt tok", "compl tok", "wall s/proj", "stop"):  # fmt: skip
        table.add_column(col)
    for r in records:
        mark = {"ok": "yes" if r.passed else "no"}.get(r.status, r.status)
        table.add_row(
            r.generator, r.problem, mark, str(r.samples), str(r.correct), _f(r.best_public),
            _f(r.best_hidden), f"{r.llm_calls}/{_f(r.projected_calls)}", str(r.prompt_tokens),
            str(r.completion_tokens), f"{r.wall_s:.1f}/{_f(r.projected_wall_s, 0)}",
            r.stop_reason or (r.error or "")[:40],
        )  # fmt: skip
    return table


def format_markdown(summary: dict[str, Any]) -> str:
    """The per-generator summary as a Markdown table (for notes and reports)."""
    head = ["generator", "kind", "problems", "pass@1", "pass@5", "calls", "prompt tok",
            "compl tok", "wall s", "budget"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for gen, kinds in summary.items():
        for kind, s in kinds.items():
            cells = [gen, kind, str(s["problems"]), _f(s.get("pass@1"), 3)]
            cells += [_f(s.get("pass@5"), 3), _f(s.get("mean_llm_calls"), 1)]
            cells += [_f(s.get("mean_prompt_tokens"), 0), _f(s.get("mean_completion_tokens"), 0)]
            cells += [_f(s.get("mean_wall_s"), 1), str(s.get("budget", ""))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PROJECTION_HEAD = ["generator", "kind", "problems", "calls/problem", "first-pass calls",
                   "new prompt tok", "compl tok", "sandbox runs", "s/problem", "total min",
                   "budget (stop)"]  # fmt: skip


def projection_rows(projection: dict[str, Any]) -> list[list[str]]:
    """One row per (generator, kind) of `code_plan.project`'s result, then the total row."""
    first: dict[tuple[str, str], list[int]] = {}
    for run in projection["runs"]:
        first.setdefault((run["generator"], run["kind"]), []).append(run["first_pass_calls"])
    rows = []
    for gen, kinds in projection["by_generator"].items():
        for kind, s in kinds.items():
            n = max(s["problems"], 1)
            fp = first.get((gen, kind), [0])
            rows.append([
                gen, kind, str(s["problems"]), _f(s["llm_calls"] / n, 1),
                f"{min(fp)}-{max(fp)}" if min(fp) != max(fp) else str(fp[0]),
                str(s["new_prompt_tokens"]), str(s["completion_tokens"]), str(s["sandbox_runs"]),
                _f(s["seconds"] / n, 0), _f(s["seconds"] / 60, 1), budget_text(gen, kind),
            ])  # fmt: skip
    total = projection["total_s"]
    note = f"{projection['total_h']:.2f} h, every run spending its whole budget"
    rows.append(["total", "", "", "", "", "", "", "", "", _f(total / 60, 1), note])
    return rows


def projection_table(projection: dict[str, Any]) -> Any:
    """A rich Table of the bench's time projection (printed before every run)."""
    rates = projection["rates"]
    table = Table(
        title=(
            f"bench code: projection at {rates['prompt_tps']:g} prompt / {rates['gen_tps']:g} "
            f"generated tok/s (tokens ~ chars/3.5); each generator stops early at public 1.0"
        ),
        caption=projection["method"],
    )
    for col in PROJECTION_HEAD:
        table.add_column(col, justify="left" if col in ("generator", "kind", "budget (stop)")
                         else "right")  # fmt: skip
    for row in projection_rows(projection):
        table.add_row(*row)
    return table


def format_projection_markdown(projection: dict[str, Any]) -> str:
    """The projection as a Markdown table (for notes and reports)."""
    lines = ["| " + " | ".join(PROJECTION_HEAD) + " |", "|" + "---|" * len(PROJECTION_HEAD)]
    lines += ["| " + " | ".join(row) + " |" for row in projection_rows(projection)]
    return "\n".join(lines)
