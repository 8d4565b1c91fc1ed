"""Every optimizer's settings are documented once, on its pydantic model (STYLE habit 21).

Each field of each settings model carries a docstring (``use_attribute_docstrings``), which
pydantic turns into the field's description and the JSON schema's. An optimizer's models are
read from its ``settings`` annotation; the prompt optimizers (one class, several methods,
settings split over tables) are listed from those tables.
"""

from __future__ import annotations

from typing import get_args, get_origin, get_type_hints

import pytest
from pydantic import BaseModel

from workbench._imports import import_object
from workbench.optimizers import OPTIMIZERS
from workbench.optimizers.prompt.budget import INSTRUCTION_OPTIMIZERS, SELECTORS, RaceSettings
from workbench.optimizers.prompt.settings import JointSettings


def _models(*models: type[BaseModel] | None) -> list[type[BaseModel]]:
    return [m for m in models if m is not None]


PROMPT_MODELS: dict[str, list[type[BaseModel]]] = {
    "ape": _models(INSTRUCTION_OPTIMIZERS["ape"], RaceSettings),
    "opro": _models(INSTRUCTION_OPTIMIZERS["opro"], RaceSettings),
    "protegi": _models(INSTRUCTION_OPTIMIZERS["protegi"], RaceSettings),
    "exemplars": _models(*SELECTORS.values(), RaceSettings),
    "joint": _models(
        JointSettings, *INSTRUCTION_OPTIMIZERS.values(), *SELECTORS.values(), RaceSettings
    ),
}
"""Method of `PromptOptimizer` -> the models its ``optimizer.settings`` are validated with."""


def settings_models(name: str) -> list[type[BaseModel]]:
    """The settings models of registered optimizer `name`."""
    entry = OPTIMIZERS[name]
    if entry.method is not None:
        return PROMPT_MODELS[entry.method]
    cls = import_object(entry.target)
    hint = get_type_hints(cls.__init__)["settings"]
    return [
        t
        for t in (get_args(hint) or (hint,))
        if get_origin(t) is None and isinstance(t, type) and issubclass(t, BaseModel)
    ]


def _all_models() -> list[type[BaseModel]]:
    seen: dict[str, type[BaseModel]] = {}
    for name in sorted(OPTIMIZERS):
        for model in settings_models(name):
            seen.setdefault(f"{model.__module__}.{model.__qualname__}", model)
    return list(seen.values())


def _param(model: type[BaseModel]) -> object:
    return pytest.param(model, id=model.__name__)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_has_a_settings_model(name: str) -> None:
    assert settings_models(name), (
        f"{name}: no pydantic settings model in its `settings` annotation; annotate it "
        f"(`settings: XSettings | dict[str, Any]`) or list its models in PROMPT_MODELS"
    )


@pytest.mark.parametrize("model", [_param(m) for m in _all_models()])
def test_every_settings_field_has_a_description(model: type[BaseModel]) -> None:
    missing = [n for n, f in model.model_fields.items() if not (f.description or "").strip()]
    assert not missing, f"{model.__name__}: fields without a docstring: {missing}"
    schema = model.model_json_schema()["properties"]
    assert all(schema[n].get("description") for n in model.model_fields)
