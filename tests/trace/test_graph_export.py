"""Graphs are objects (no global registry), tracing context, DOT/SVG export, doctests."""

from __future__ import annotations

import doctest
import importlib
import shutil
import threading

import pytest

import workbench.trace as trace
from tests.fixtures.needs import missing
from workbench.errors import NotSetUp
from workbench.trace import Graph, current_graph, node, to_dot, to_svg, use_graph


def test_two_graphs_name_independently() -> None:
    g1, g2 = Graph(), Graph()
    with use_graph(g1):
        a = node(1, name="x")
    with use_graph(g2):
        b = node(1, name="x")
    with use_graph(g1):
        c = node(1, name="x")
    assert (a.name, b.name, c.name) == ("x0", "x0", "x1")
    assert a.graph is g1 and b.graph is g2


def test_threads_share_the_default_graph_unless_they_activate_one() -> None:
    seen: list[Graph] = []
    mine = Graph()

    def work() -> None:
        seen.append(current_graph())
        with use_graph(mine):
            seen.append(current_graph())
        seen.append(current_graph())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [current_graph(), mine, current_graph()]


def test_names_stay_unique_across_threads() -> None:
    names: list[str] = []

    def work() -> None:
        names.extend(node(i, name="t").name for i in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 800


def test_dot_export_draws_nodes_and_labelled_edges() -> None:
    with use_graph(Graph()):
        x = node(2, trainable=True, name="x")
        out = (x + 1) * 'ab"c'[0:1]
    dot = to_dot(out)
    assert dot.startswith('digraph "trace" {')
    assert 'x0 -> add0 [label="x"];' in dot
    assert 'add0 -> multiply0 [label="x"];' in dot
    assert "x0 [label=" in dot and "#ffe7a3" in dot  # parameters drawn differently


def test_svg_without_graphviz_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(NotSetUp, match="apt-get install graphviz"):
        to_svg(node(1) + 1)


def test_svg_with_graphviz() -> None:
    if shutil.which("dot") is None:
        missing("Graphviz `dot` is not installed (apt-get install graphviz)")
    assert "<svg" in to_svg(node(1, trainable=True) + 1)


MODULES = ["graph", "nodes", "operators", "code", "bundle", "propagation", "modules", "export"]


@pytest.mark.parametrize("name", ["", *MODULES])
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"workbench.trace{'.' + name if name else ''}")
    with use_graph(Graph()):
        result = doctest.testmod(
            module, extraglobs={k: getattr(trace, k) for k in trace.__all__}, report=False
        )
    assert result.attempted > 0 and result.failed == 0
