"""Registers the prompt optimizer ``protegi`` (see `workbench.optimizers.prompt`) for discovery."""

import workbench.optimizers.prompt  # noqa: F401  (registers on import)
