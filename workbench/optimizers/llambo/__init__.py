"""LLAMBO on Optuna: LLM warm start, candidate sampler and surrogate, handing over to TPE.

The `llambo` optimizer (``optimizer: {name: llambo}`` in an `hpo` task file). See
`workbench.optimizers.llambo.optimizer` for the design and the settings.
"""

from workbench.optimizers.llambo.engine import Engine, Stats, expected_improvement
from workbench.optimizers.llambo.optimizer import LlamboOptimizer, LlamboSettings, tpe_share
from workbench.optimizers.llambo.prompts import PROMPT_VERSION, Observation
from workbench.optimizers.llambo.rank import density_ratio
from workbench.optimizers.llambo.sampler import LlamboSampler
from workbench.optimizers.llambo.serialize import (
    answer_schemas,
    check_config,
    check_row,
    clip_row,
    config_key,
    config_row,
    config_text,
    describe_space,
    format_value,
    parse_config,
    snap,
    snap_config,
)

__all__ = [
    "PROMPT_VERSION",
    "Engine",
    "LlamboOptimizer",
    "LlamboSampler",
    "LlamboSettings",
    "Observation",
    "Stats",
    "answer_schemas",
    "check_config",
    "check_row",
    "clip_row",
    "config_key",
    "config_row",
    "config_text",
    "density_ratio",
    "describe_space",
    "expected_improvement",
    "format_value",
    "parse_config",
    "snap",
    "snap_config",
    "tpe_share",
]
