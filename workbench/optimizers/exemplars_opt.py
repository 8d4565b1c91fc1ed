"""Registers the prompt optimizer ``exemplars_opt`` (see `workbench.optimizers.prompt`)
for discovery by name."""

import workbench.optimizers.prompt  # noqa: F401  (registers on import)
