"""Module/@model: parameters through nesting, per instance, JSON save/load across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.trace import Module, bundle, model, node


class Tool(Module):
    def __init__(self, k: int) -> None:
        self.k = node(k, trainable=True)
        self.fixed = node("not trainable")

    @bundle(trainable=True)
    def run(self, x):
        return x + self.k.data


class Agent(Module):
    def __init__(self) -> None:
        self.prompt = node("Be brief.", trainable=True)
        self.tools = [Tool(1), Tool(2)]
        self.table = {"alpha": node(0.5, trainable=True), "beta": node([1, 2], trainable=True)}
        self.pair = (node((1, "a"), trainable=True),)
        self.free_fn = bundle(trainable=True)(_double)

    @bundle(trainable=True)
    def act(self, obs):
        return obs


def _double(v):
    return 2 * v


EXPECTED = [
    "act.__code",
    "prompt",
    "tools.0.run.__code",
    "tools.0.k",
    "tools.1.run.__code",
    "tools.1.k",
    "table.alpha",
    "table.beta",
    "pair.0",
    "free_fn.__code",
]


def test_parameters_found_through_nesting_and_methods() -> None:
    agent = Agent()
    named = agent.named_parameters()
    assert list(named) == EXPECTED
    assert named["tools.0.k"] is agent.tools[0].k
    assert named["tools.0.run.__code"] is agent.tools[0].run.parameter
    assert named["tools.0.run.__code"] is not named["tools.1.run.__code"]
    assert agent.parameters() == list(named.values())
    assert all(p.path == path for path, p in named.items())


def test_per_instance_parameters_differ_between_instances() -> None:
    a, b = Agent(), Agent()
    assert a.act.parameter is not b.act.parameter
    assert {id(p) for p in a.parameters()}.isdisjoint({id(p) for p in b.parameters()})


def test_model_decorator_makes_a_module() -> None:
    @model
    class Plain:
        def __init__(self) -> None:
            self.w = node(1.0, trainable=True)

    obj = Plain()
    assert isinstance(obj, Module) and type(obj).__name__ == "Plain"
    assert list(obj.named_parameters()) == ["w"]


def test_shared_parameter_listed_once() -> None:
    class Twice(Module):
        def __init__(self) -> None:
            self.a = node(1, trainable=True)
            self.b = self.a

    assert list(Twice().named_parameters()) == ["a"]


SCRIPT = textwrap.dedent(
    """
    import json, sys
    from workbench.trace import Module, bundle, node

    class Solver(Module):
        def __init__(self):
            self.prompt = node("v1", trainable=True)
            self.weights = [node(0.1, trainable=True), node({"k": [1, 2]}, trainable=True)]
            self.shape = node((2, 3), trainable=True)

        @bundle(trainable=True)
        def solve(self, x):
            return x + 1

    s = Solver()
    if sys.argv[1] == "save":
        s.prompt.set("v2")
        s.weights[0].set(0.75)
        s.weights[1].set({"k": [3], "new": None})
        s.shape.set((4, 5))
        s.solve.parameter.set("def solve(self, x):\\n    return x * 100\\n")
        s.save(sys.argv[2])
    else:
        s.load(sys.argv[2])
        print(json.dumps({"prompt": s.prompt.data, "w0": s.weights[0].data,
                          "w1": s.weights[1].data,
                          "shape_is_tuple": isinstance(s.shape.data, tuple),
                          "shape": list(s.shape.data), "solve": s.solve(3).data}))
    """
)


def test_save_load_round_trip_in_a_new_process(tmp_path: Path) -> None:
    script = tmp_path / "solver_mod.py"
    script.write_text(SCRIPT)
    saved = tmp_path / "params.json"
    root = str(Path(__file__).resolve().parents[2])
    env = {"PYTHONPATH": root, "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, str(script), "save", str(saved)], check=True, env=env)
    doc = json.loads(saved.read_text())
    assert set(doc["parameters"]) == {"solve.__code", "prompt", "weights.0", "weights.1", "shape"}
    done = subprocess.run(
        [sys.executable, str(script), "load", str(saved)],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    loaded = json.loads(done.stdout)
    assert loaded == {
        "prompt": "v2",
        "w0": 0.75,
        "w1": {"k": [3], "new": None},
        "shape_is_tuple": True,
        "shape": [4, 5],
        "solve": 300,
    }


def test_load_rejects_mismatched_or_foreign_files(tmp_path: Path) -> None:
    agent = Agent()
    path = tmp_path / "p.json"
    Tool(1).save(path)
    with pytest.raises(ConfigError, match="missing"):
        agent.load(path)
    path.write_text('{"not": "ours"}')
    with pytest.raises(ConfigError, match="not a parameter file"):
        agent.load(path)


def test_save_refuses_values_json_cannot_hold(tmp_path: Path) -> None:
    class Holder(Module):
        def __init__(self) -> None:
            self.obj = node(object(), trainable=True)

    with pytest.raises(TypeError, match="'obj' holds a object"):
        Holder().save(tmp_path / "x.json")
