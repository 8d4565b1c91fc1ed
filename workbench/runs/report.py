"""`workbench report RUN`: one self-contained HTML page (plots drawn as inline SVG).

It shows the best-so-far and per-candidate score curves, LLM token and cost spend over time,
a table of every candidate with its score and feedback, and the best candidate.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter
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


# A chart is inline SVG written here: importing and rendering with matplotlib would be a
# noticeable share of a quickstart command (`workbench optimize` writes the report at the end).
_W, _H = 760, 300  # the chart's size in px
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 72, 26, 42  # margins: ticks, second axis, legend, x ticks
_C0, _C1, _C3 = "#1f77b4", "#ff7f0e", "#d62728"

# (kind: "dots" | "line" | "step", xs, ys, colour, label); NaN leaves a gap in a line
Layer = tuple[str, list[float], list[float], str, str]


def _span(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.05 or abs(hi) * 0.05 or 0.5
    return lo - pad, hi + pad


def _num(v: float) -> str:
    return f"{v:.4g}"


def _chart(xlabel: str, axes: list[tuple[str, list[Layer]]]) -> str:
    """An SVG chart of `axes` (one or two: left, right), each a y label and its layers."""
    xs_all = [x for _, layers in axes for layer in layers for x in layer[1]]
    x_lo, x_hi = (min(xs_all), max(xs_all)) if xs_all else (0.0, 1.0)
    x_hi = x_hi if x_hi > x_lo else x_lo + 1.0
    w, h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    sx = lambda x: _LEFT + (x - x_lo) / (x_hi - x_lo) * w  # noqa: E731
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' "
        f"viewBox='0 0 {_W} {_H}' font-size='11' font-family='sans-serif'>",
        f"<rect x='{_LEFT}' y='{_TOP}' width='{w}' height='{h}' fill='none' stroke='#999'/>",
    ]
    for i in range(5):
        x = x_lo + (x_hi - x_lo) * i / 4
        out.append(
            f"<text x='{sx(x):.1f}' y='{_TOP + h + 14}' text-anchor='middle'>{_num(x)}</text>"
        )
    out.append(
        f"<text x='{_LEFT + w / 2:.1f}' y='{_H - 6}' text-anchor='middle'>"
        f"{html.escape(xlabel)}</text>"
    )
    legend = 0
    for side, (ylabel, layers) in enumerate(axes[:2]):
        lo, hi = _span([y for layer in layers for y in layer[2]])

        def sy(y: float, lo: float = lo, hi: float = hi) -> float:
            return _TOP + (1 - (y - lo) / (hi - lo)) * h

        tx, anchor = (_LEFT - 4, "end") if side == 0 else (_LEFT + w + 4, "start")
        for i in range(5):
            y = lo + (hi - lo) * i / 4
            if side == 0:
                out.append(
                    f"<line x1='{_LEFT}' x2='{_LEFT + w}' y1='{sy(y):.1f}' y2='{sy(y):.1f}' "
                    "stroke='#ddd'/>"
                )
            out.append(
                f"<text x='{tx}' y='{sy(y) + 4:.1f}' text-anchor='{anchor}'>{_num(y)}</text>"
            )
        ly, rot = (14, -90) if side == 0 else (_W - 10, 90)
        out.append(
            f"<text transform='translate({ly},{_TOP + h / 2:.1f}) rotate({rot})' "
            f"text-anchor='middle'>{html.escape(ylabel)}</text>"
        )
        for kind, xs, ys, colour, label in layers:
            if kind == "dots":
                out.extend(
                    f"<circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='2.5' fill='{colour}' "
                    "fill-opacity='0.6'/>"
                    for x, y in zip(xs, ys, strict=True)
                    if math.isfinite(y)
                )
            else:
                runs: list[list[str]] = [[]]
                prev: float | None = None
                for x, y in zip(xs, ys, strict=True):
                    if not math.isfinite(y):
                        runs.append([])
                        prev = None
                        continue
                    if kind == "step" and prev is not None:
                        runs[-1].append(f"{sx(x):.1f},{sy(prev):.1f}")
                    runs[-1].append(f"{sx(x):.1f},{sy(y):.1f}")
                    prev = y
                out.extend(
                    f"<polyline points='{' '.join(r)}' fill='none' stroke='{colour}' "
                    "stroke-width='1.5'/>"
                    for r in runs
                    if r
                )
            x0 = _LEFT + 8 + 130 * legend
            out.append(
                f"<rect x='{x0}' y='8' width='10' height='10' fill='{colour}'/>"
                f"<text x='{x0 + 14}' y='17'>{html.escape(label)}</text>"
            )
            legend += 1
    out.append("</svg>")
    return "".join(out)


def _score_plot(scores: list[float | None], direction: str, metric: str) -> str:
    xs = [float(i + 1) for i, s in enumerate(scores) if s is not None]
    ys = [s for s in scores if s is not None]
    best: float | None = None
    curve = []
    for s in scores:
        if s is not None and better(s, best, direction):
            best = s
        curve.append(math.nan if best is None else best)
    steps = [float(i + 1) for i in range(len(curve))]
    layers: list[Layer] = [
        ("dots", xs, ys, _C0, "candidate"),
        ("step", steps, curve, _C3, "best so far"),
    ]
    return _chart("evaluation", [(f"{metric} ({direction})", layers)])


def _spend_plot(events: list[dict[str, Any]]) -> str | None:
    calls = [e for e in events if e.get("type") == "llm_call"]
    if not calls:
        return None
    t0 = min(e.get("t", 0.0) for e in events)
    ts, tokens, cost, tok, usd = [], [], [], 0, 0.0
    for e in sorted(calls, key=lambda e: e.get("t", 0.0)):
        tok += int(e.get("prompt_tokens", 0)) + int(e.get("completion_tokens", 0))
        usd += float(e.get("cost", 0.0))
        ts.append(e.get("t", t0) - t0)
        tokens.append(float(tok))
        cost.append(usd)
    return _chart(
        "seconds since start",
        [
            ("tokens (cumulative)", [("line", ts, tokens, _C0, "tokens")]),
            ("cost $ (cumulative)", [("line", ts, cost, _C1, "cost $")]),
        ],
    )


def _cell(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…")


_TOKENS = ("prompt_tokens", "completion_tokens")


def _box(x: float, y: float, w: float, lines: list[str], fill: str = "#eef3fb") -> str:
    text = "".join(
        f"<text x='{x + w / 2:.0f}' y='{y + 18 + 15 * i}' text-anchor='middle'>"
        f"{html.escape(line)}</text>"
        for i, line in enumerate(lines)
    )
    height = 10 + 15 * len(lines)
    return (
        f"<rect x='{x:.0f}' y='{y}' width='{w:.0f}' height='{height}' rx='6' fill='{fill}' "
        f"stroke='#4a6fa5'/>{text}"
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, label: str = "") -> str:
    mid = f"<text x='{(x1 + x2) / 2 + 4:.0f}' y='{(y1 + y2) / 2:.0f}'>{html.escape(label)}</text>"
    return (
        f"<line x1='{x1:.0f}' y1='{y1}' x2='{x2:.0f}' y2='{y2}' stroke='#555' "
        f"marker-end='url(#head)'/>" + (mid if label else "")
    )


def _graph_svg(names: list[str], events: list[dict[str, Any]]) -> str:
    """The run's langgraph graph as an inline SVG: the router, one node per agent (its steps and
    the improvements it made), evaluate and update, each edge with how often it was taken."""
    steps: dict[str, set[Any]] = {n: set() for n in names}
    gains: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for e in events:
        kind = e.get("type")
        if kind == "proposal" and (agent := (e.get("meta") or {}).get("agent")) in steps:
            steps[agent].add(e.get("step"))
        elif kind == "best":
            gains[str(e.get("id", "")).split(".", 1)[0]] += 1
        elif kind == "agent_failure":
            failures[str(e.get("agent"))] += 1
    total = sum(len(v) for v in steps.values())
    box_w, gap = 170.0, 20.0
    width = max(420.0, len(names) * (box_w + gap) + gap + 60)
    center = (width - 60) / 2
    parts = [_box(center - 70, 10, 140, ["router"], "#fff6e0")]
    for i, name in enumerate(names):
        x = gap + i * (box_w + gap)
        lines = [f"agent_{name}", f"{len(steps[name])} steps, {gains[name]} gains"]
        if failures[name]:
            lines.append(f"{failures[name]} failed turns")
        parts.append(_box(x, 90, box_w, lines))
        parts.append(_arrow(center, 35, x + box_w / 2, 88, str(len(steps[name]))))
        parts.append(_arrow(x + box_w / 2, 142, center, 183))
    parts.append(_box(center - 90, 185, 180, ["evaluate (sandbox)"]))
    parts.append(_arrow(center, 210, center, 243, str(total)))
    parts.append(_box(center - 90, 245, 180, ["update: feedback to each agent"]))
    right = width - 30
    parts.append(
        f"<polyline points='{center + 90:.0f},257 {right:.0f},257 {right:.0f},22 "
        f"{center + 72:.0f},22' fill='none' stroke='#555' marker-end='url(#head)'/>"
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='285' "
        "font-family='sans-serif' font-size='12'><defs><marker id='head' markerWidth='8' "
        "markerHeight='8' refX='7' refY='4' orient='auto'><path d='M0,0 L8,4 L0,8 z' "
        f"fill='#555'/></marker></defs>{''.join(parts)}</svg>"
    )


def _agents(agents: dict[str, Any], events: list[dict[str, Any]], metric: str) -> str:
    """The agents of the run: each one's account, and which agent made each improvement."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{mine.get('evaluations', 0)}</td>"
        f"<td>{_cell(mine.get('statuses'))}</td>"
        f"<td>{_cell((mine.get('best') or {}).get('score'))}</td>"
        f"<td>{_cell((mine.get('llm') or {}).get('calls', 0))}</td>"
        f"<td>{_cell(sum((mine.get('llm') or {}).get(k, 0) for k in _TOKENS))}</td>"
        f"<td>{_cell((mine.get('llm') or {}).get('cost', 0))}</td></tr>"
        for name, mine in agents.items()
    )
    steps = "".join(
        f"<tr><td>{e.get('step')}</td><td>{html.escape(str(e.get('id')))}</td>"
        f"<td>{html.escape(str(e.get('id', '')).split('.', 1)[0])}</td>"
        f"<td>{_cell(e.get('score'))}</td></tr>"
        for e in events
        if e.get("type") == "best"
    )
    failures = sum(1 for e in events if e.get("type") == "agent_failure")
    names = list(agents)  # and the agents that never had a candidate evaluated
    names += sorted({e["agent"] for e in events if e.get("type") == "agent_failure"} - set(names))
    return (
        f"<h2>Agents</h2>{_graph_svg(names, events)}"
        "<table><tr><th>agent</th><th>evaluations</th><th>statuses</th>"
        f"<th>best {html.escape(metric)}</th><th>LLM calls</th><th>tokens</th><th>cost</th></tr>"
        f"{rows}</table><h3>Where each improvement came from</h3><table><tr><th>step</th>"
        f"<th>candidate</th><th>agent</th><th>{html.escape(metric)}</th></tr>{steps}</table>"
        + (f"<p>{failures} failed agent turns (agent_failure events).</p>" if failures else "")
    )


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
    if summary.get("agents"):
        parts.append(_agents(summary["agents"], events, metric))
    if summary.get("plan"):
        parts.append(f"<h2>Plan</h2><p>{_cell(summary['plan'], 2000)}</p>")
    parts.append("<h2>Scores</h2>")
    if rows:
        parts.append(_score_plot([r[2].score for r in rows], direction, metric))
    parts.append("<h2>LLM spend</h2>")
    spend = _spend_plot(events)
    llm = summary.get("llm")
    if spend:
        parts.append(spend)
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
        agent = cand.meta.get("agent")
        who = f" <span class='muted'>({html.escape(str(agent))})</span>" if agent else ""
        parts.append(
            f"<tr{cls}><td>{i}</td><td>{html.escape(cand.id)}{who}</td><td>{step}</td>"
            f"<td>{ev.status}</td><td>{score}</td><td>{'yes' if cached else ''}</td>"
            f"<td><code>{_cell(cand.payload)}</code></td><td>{_cell(ev.feedback)}</td>"
            "</tr>"
        )
    parts.append("</table></body></html>")
    run.report_html.write_text("\n".join(parts), encoding="utf-8")
    return run.report_html
