"""`workbench report RUN`: one self-contained HTML page (plots embedded as base64 PNG).

It shows the best-so-far and per-candidate score curves, LLM token and cost spend over time,
a table of every candidate with its score and feedback, and the best candidate.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Any

from workbench.agents.store import RunStore
from workbench.contracts import better
from workbench.runs.rundir import RunDir

__all__ = ["write_report"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px;width:100%}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3} tr.best{background:#e8f6e8} code,pre{font-size:12px}
pre{background:#f7f7f7;padding:8px;overflow-x:auto} .muted{color:#777}
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _score_plot(scores: list[float | None], direction: str, metric: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    xs = [i + 1 for i, s in enumerate(scores) if s is not None]
    ys = [s for s in scores if s is not None]
    ax.scatter(xs, ys, s=14, alpha=0.6, label="candidate")
    best: float | None = None
    curve = []
    for s in scores:
        if s is not None and better(s, best, direction):
            best = s
        curve.append(math.nan if best is None else best)
    ax.step(range(1, len(curve) + 1), curve, where="post", color="C3", label="best so far")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(f"{metric} ({direction})")
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
    out = _png(fig)
    plt.close(fig)
    return out


def _spend_plot(events: list[dict[str, Any]]) -> str | None:
    calls = [e for e in events if e.get("type") == "llm_call"]
    if not calls:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0 = min(e.get("t", 0.0) for e in events)
    ts, tokens, cost, tok, usd = [], [], [], 0, 0.0
    for e in sorted(calls, key=lambda e: e.get("t", 0.0)):
        tok += int(e.get("prompt_tokens", 0)) + int(e.get("completion_tokens", 0))
        usd += float(e.get("cost", 0.0))
        ts.append(e.get("t", t0) - t0)
        tokens.append(tok)
        cost.append(usd)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(ts, tokens, color="C0", label="tokens")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("tokens (cumulative)")
    ax2 = ax.twinx()
    ax2.plot(ts, cost, color="C1", label="cost $")
    ax2.set_ylabel("cost $ (cumulative)")
    ax.grid(alpha=0.3)
    out = _png(fig)
    plt.close(fig)
    return out


def _cell(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


def write_report(run: RunDir) -> Any:
    """Write ``report.html`` into the run folder and return its path."""
    store = RunStore(run.store_sqlite)
    try:
        rows = store.evaluations()
    finally:
        store.close()
    events = run.events()
    summary = run.read_json("summary.json") or {}
    best = run.read_json("best.json")
    direction = summary.get("direction") or (rows[0][2].direction if rows else "maximize")
    metric = summary.get("metric") or (rows[0][2].primary if rows else "score")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(run.name)}"
        f"</title><style>{_CSS}</style></head><body>",
        f"<h1>Run {html.escape(run.name)}</h1>",
    ]
    facts = {
        k: summary.get(k)
        for k in (
            "task",
            "kind",
            "optimizer",
            "stop_reason",
            "steps",
            "evaluations",
            "cached",
            "statuses",
            "elapsed_s",
        )
    }
    if not summary:
        facts = {"status": "running or killed (no summary.json yet)", "evaluations": len(rows)}
    parts.append(
        "<table>"
        + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in facts.items()
        )
        + "</table>"
    )
    parts.append("<h2>Best candidate</h2>")
    if best:
        parts.append(
            f"<p><b>{html.escape(str(best.get('id')))}</b>: {metric} = "
            f"{_cell(best.get('score'))}</p><pre>"
            f"{html.escape(json.dumps(best.get('payload'), indent=2))}</pre>"
        )
    else:
        parts.append("<p class='muted'>No candidate produced a score.</p>")
    final = summary.get("final")
    if final:
        rest = {k: v for k, v in final.items() if k not in ("id", "payload")}
        parts.append(
            f"<h2>Final result</h2><p><b>{html.escape(str(final.get('id')))}</b></p><table>"
            + "".join(
                f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in rest.items()
            )
            + "</table>"
        )
    if summary.get("plan"):
        parts.append(f"<h2>Plan</h2><p>{_cell(summary['plan'], 2000)}</p>")
    parts.append("<h2>Scores</h2>")
    if rows:
        img = _score_plot([r[2].score for r in rows], direction, metric)
        parts.append(f"<img alt='scores' src='data:image/png;base64,{img}'>")
    parts.append("<h2>LLM spend</h2>")
    spend = _spend_plot(events)
    llm = summary.get("llm")
    if spend:
        parts.append(f"<img alt='spend' src='data:image/png;base64,{spend}'>")
    else:
        parts.append("<p class='muted'>This run made no LLM calls.</p>")
    if llm:
        parts.append(f"<p>{_cell(llm, 1000)}</p>")
    parts.append(
        "<h2>Candidates</h2><table><tr><th>#</th><th>id</th><th>step</th>"
        "<th>status</th><th>score</th><th>cached</th><th>payload</th><th>feedback</th>"
        "</tr>"
    )
    best_id = best.get("id") if best else None
    for i, (step, cand, ev, cached) in enumerate(rows, 1):
        cls = " class='best'" if cand.id == best_id else ""
        score = "" if ev.score is None else f"{ev.score:.6g}"
        parts.append(
            f"<tr{cls}><td>{i}</td><td>{html.escape(cand.id)}</td><td>{step}</td>"
            f"<td>{ev.status}</td><td>{score}</td><td>{'yes' if cached else ''}</td>"
            f"<td><code>{_cell(cand.payload)}</code></td><td>{_cell(ev.feedback)}</td>"
            "</tr>"
        )
    parts.append("</table></body></html>")
    run.report_html.write_text("\n".join(parts), encoding="utf-8")
    return run.report_html
