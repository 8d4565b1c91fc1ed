"""OptoPrime prompt rendering of traced subgraphs (pure functions; no LLM)."""

from __future__ import annotations

import doctest
import json

import pytest

import workbench.optimizers.optoprime.parse as parse_module
import workbench.optimizers.optoprime.render as render_module
from workbench.optimizers.optoprime import (
    SECTIONS,
    SYSTEM_PROMPT,
    parse_answer,
    render_messages,
    render_problem,
    summarize,
)
from workbench.trace import ExecutionError, Graph, backward, bundle, node, subgraph, use_graph


@pytest.fixture
def problem_graph():
    """The research note's example: a = bar(x); z = a * (a + b), bar and x trainable."""
    with use_graph(Graph()):

        @bundle(trainable=True)
        def bar(x):
            """Compute bar."""
            return x * 2

        x = node(-1.0, trainable=True, name="x")
        b = node(1.0, name="b")
        other = node(9.0, trainable=True, name="other")
        a = bar(x)
        z = a * (a + b)
        bpass = backward(z, "z should be larger")
    return bpass, x, bar.parameter, other


def test_sections_match_optoprime(problem_graph) -> None:
    bpass, x, code, _ = problem_graph
    p = summarize(subgraph(bpass, [x, code]), [x, code])
    assert p.code.splitlines() == [
        "bar0 = bar(x=x0, __code=__code_bar0)",
        "add0 = add(x=bar0, y=b0)",
        "multiply0 = multiply(x=bar0, y=add0)",
    ]
    assert p.documentation.splitlines() == [
        "[bar] Compute bar.",
        "[add] This is an add operator of x and y.",
        "[multiply] This is a multiply operator of x and y.",
    ]
    assert "(float) x0=-1.0" in p.variables
    assert p.variables.startswith("(code) __code_bar0:\ndef bar(x):")
    assert p.constraints.startswith("(code) __code_bar0: The code should start with:\ndef bar(x):")
    assert p.inputs == "(float) b0=1.0"
    assert p.others.splitlines() == ["(float) bar0=-2.0", "(float) add0=-1.0"]
    assert p.outputs == "(float) multiply0=2.0"
    assert p.feedback == "z should be larger"
    text = p.render()
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        f"#{s.capitalize()}" for s in SECTIONS
    ]


def test_unrelated_parameter_is_not_in_the_prompt(problem_graph) -> None:
    bpass, x, code, other = problem_graph
    assert other.feedback == []
    assert "other0" not in render_problem(subgraph(bpass, [x, code]), [x, code])


def test_parameters_not_optimized_are_inputs(problem_graph) -> None:
    bpass, x, _code, _ = problem_graph
    p = summarize(subgraph(bpass, [x]), [x])
    assert "__code_bar0" not in p.variables and "(code) __code_bar0:" in p.inputs
    assert p.constraints == ""


def test_truncation_mask_memory_and_problems() -> None:
    with use_graph(Graph()):
        text = node("word " * 1000, trainable=True, name="t")
        out = text + "!"
        bpass = backward(out, "shorter")
    prompt = render_problem(
        subgraph(bpass, [text]),
        [text],
        value_limit=50,
        variable_limit=20,
        mask=["#Code"],
        memory=[({"t0": "old"}, "too long")],
        problems=["'t' is not a variable; use one of: t0"],
    )
    assert "(str) t0=word word word word ...(truncated; 5000 characters in total)" in prompt
    assert "5001 characters in total" in prompt  # the output, cut at value_limit
    assert "#Code\n\n#Documentation" in prompt
    assert '"feedback": "too long"' in prompt
    assert "- 't' is not a variable" in prompt


def test_exception_subgraph_shows_annotated_code_once() -> None:
    with use_graph(Graph()):

        @bundle(trainable=True)
        def solve(lst):
            return lst[0] / lst[1]

        with pytest.raises(ExecutionError) as info:
            solve([1, 0])
        bpass = backward(info.value.exception_node)
    prompt = render_problem(subgraph(bpass, [solve.parameter]), [solve.parameter])
    assert "exception_solve0 = solve(lst=[1, 0], __code=__code_solve0)" in prompt
    assert "(error) exception_solve0=(ZeroDivisionError) division by zero" in prompt
    assert prompt.count("<--- (ZeroDivisionError) division by zero") == 1
    assert prompt.rstrip().endswith(
        "return lst[0] / lst[1]  <--- (ZeroDivisionError) division by zero"
    )


def test_constants_inline_unless_long_or_turned_off() -> None:
    with use_graph(Graph()):
        x = node(3.0, trainable=True, name="x")
        out = (x * 2.0 + 1.0) + node(["a", "b"]).len()
        bpass = backward(out, "fb")
    assert out.data == 9.0
    inline = summarize(subgraph(bpass, [x]), [x])
    assert inline.code.splitlines() == [
        "multiply0 = multiply(x=x0, y=2.0)",
        "add0 = add(x=multiply0, y=1.0)",
        "add1 = add(x=add0, y=len0)",
    ]
    assert inline.inputs == "(int) len0=2"  # a computed value is never inlined
    named = summarize(subgraph(bpass, [x]), [x], inline_limit=None)
    assert named.code.splitlines()[0] == "multiply0 = multiply(x=x0, y=float0)"
    assert "(float) float0=2.0" in named.inputs and "(float) float1=1.0" in named.inputs
    short = summarize(subgraph(bpass, [x]), [x], inline_limit=2)
    assert short.code.splitlines()[0] == "multiply0 = multiply(x=x0, y=float0)"


def test_nodes_from_two_graphs_with_one_name_are_refused() -> None:
    with use_graph(Graph()):
        a = node(1, trainable=True, name="v")
    with use_graph(Graph()):
        b = node(2, trainable=True, name="v")
    bpass = backward(a + b, "fb")
    with pytest.raises(ValueError, match="two nodes are named 'v0'"):
        summarize(subgraph(bpass, [a, b]), [a, b])


def test_messages_and_system_prompt() -> None:
    msgs = render_messages("user text")
    assert msgs == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": "user text"},
    ]
    assert '"suggestion"' in SYSTEM_PROMPT and "#Variables" in SYSTEM_PROMPT


@pytest.mark.parametrize("module", [render_module, parse_module])
def test_docstring_examples_run(module) -> None:
    with use_graph(Graph()):
        result = doctest.testmod(module, report=False)
    assert result.attempted > 0 and result.failed == 0


def scripted_model(prompt: str) -> str:
    """A stand-in for the LLM: reads #Variables and answers in the requested format."""
    variables = prompt.split("#Variables\n")[1].split("\n\n#")[0]
    suggestion: dict[str, object] = {}
    for line in variables.splitlines():
        if line.startswith("(float) "):
            name = line.split(" ", 1)[1].split("=")[0]
            suggestion[name] = "2.0"
        elif line.startswith("(code) "):
            name = line.split(" ", 1)[1].rstrip(":")
            suggestion[name] = "def solve(lst):\n    return lst[0] / (lst[1] or 1)\n"
    return "Here you go:\n```json\n" + json.dumps({"reasoning": "r", "suggestion": suggestion})


def test_render_parse_apply_closes_the_loop() -> None:
    with use_graph(Graph()):
        x = node(-1.0, trainable=True, name="x")

        @bundle(trainable=True)
        def solve(lst):
            return lst[0] / lst[1]

        with pytest.raises(ExecutionError) as info:
            solve([x, 0])
        bpass = backward(info.value.exception_node)
        params = [x, solve.parameter]
        prompt = render_problem(subgraph(bpass, params), params)
        result = parse_answer(scripted_model(prompt), params)
        assert result.rejections == [] and len(result.updates) == 2
        result.apply()
        assert solve([x, 0]).data == 2.0


def _append_row(rows, x):
    """The rows and one more, [x]."""
    return [*rows, [x]]


def test_a_long_table_is_previewed_with_its_shape() -> None:
    """A data table past the limit shows its first rows and its shape, not digits to the cut."""
    with use_graph(Graph()):
        rows = node([[0.123456789 * i + j for j in range(30)] for i in range(400)], name="rows")
        scale = node(2.0, trainable=True, name="scale")
        bpass = backward(bundle()(_append_row)(rows, scale), "fewer columns")
    prompt = render_problem(subgraph(bpass, [scale]), [scale], value_limit=2000)
    [line] = [x for x in prompt.splitlines() if x.startswith("(list) rows0=")]
    assert line.startswith("(list) rows0=[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, ...], [0.123456789, ")
    assert "(list of 400 lists of 30 floats;" in line and len(line) < 600
    assert "list of 401 lists of 1-30 floats" in prompt  # the output: rows of two widths
    cut = render_module.format_value({"k": list(range(999))}, 50)  # no preview fits in 50
    assert cut.endswith("...(truncated; 4892 characters in total)")
