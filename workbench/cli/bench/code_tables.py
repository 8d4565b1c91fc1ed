"""Tables of `workbench bench code` results: rich tables for the terminal, Markdown for notes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.cli.bench.code import ProblemRecord

__all__ = ["format_markdown", "problems_table", "summary_table"]


def _f(v: Any, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def summary_table(summary: dict[str, Any]) -> Any:
    """A rich Table of `summarize_code`'s result, one row per (generator, kind)."""
    from rich.table import Table

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
    from rich.table import Table

    table = Table(title="bench code: per problem")
    for col in ("generator", "problem", "pass", "n", "correct", "public", "hidden", "calls",
                "prompt tok", "compl tok", "wall s", "stop"):  # fmt: skip
        table.add_column(col)
    for r in records:
        mark = {"ok": "yes" if r.passed else "no"}.get(r.status, r.status)
        table.add_row(
            r.generator, r.problem, mark, str(r.samples), str(r.correct), _f(r.best_public),
            _f(r.best_hidden), str(r.llm_calls), str(r.prompt_tokens), str(r.completion_tokens),
            _f(r.wall_s, 1), r.stop_reason or (r.error or "")[:40],
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
