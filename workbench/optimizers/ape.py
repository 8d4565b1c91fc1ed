"""Registers the prompt optimizer ``ape`` (see `workbench.optimizers.prompt`) for discovery."""

import workbench.optimizers.prompt  # noqa: F401  (registers on import)
