"""`SandboxConfig` (the ``sandbox:`` section of task.yaml) and `open_sandbox`, the one resolver.

Strings at the edge, objects inside (STYLE habit 4): ``"docker"``, ``"docker:<image>"``,
``"local"`` or ``"auto"`` become a `Sandbox`; a `Sandbox` passes straight through.
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from workbench.errors import ConfigError, NotSetUp
from workbench.sandbox.base import Limits, Sandbox

__all__ = ["SandboxConfig", "open_sandbox"]

log = logging.getLogger(__name__)


class SandboxConfig(BaseModel, extra="forbid"):
    """Where generated code runs.

    Attributes:
        backend: ``docker`` (hardened containers), ``local`` (subprocess; not a security
            boundary) or ``auto`` (docker when the engine and image are there, else local).
        image: Docker image; default: the tag `workbench sandbox build` makes.
        pool_size: containers kept warm; default: the number of cores.
        limits: overrides of `Limits` fields, e.g. ``{"timeout_s": 30, "memory_mb": 1024}``.
    """

    backend: Literal["docker", "local", "auto"] = "auto"
    image: str | None = None
    pool_size: int | None = Field(default=None, ge=1)
    limits: dict[str, float] = Field(default_factory=dict)

    @field_validator("limits")
    @classmethod
    def _known_limits(cls, value: dict[str, float]) -> dict[str, float]:
        try:
            Limits().replace(**value)
        except ConfigError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(str(exc)) from None
        return value

    def make_limits(self) -> Limits:
        """The default `Limits` with this config's overrides."""
        ints = {"memory_mb", "pids", "output_bytes", "file_size_mb", "open_files"}
        return Limits().replace(**{k: int(v) if k in ints else v for k, v in self.limits.items()})

    @classmethod
    def parse(cls, spec: str) -> SandboxConfig:
        """``"docker"`` | ``"docker:<image>"`` | ``"local"`` | ``"auto"``."""
        backend, _, image = spec.partition(":")
        if backend not in ("docker", "local", "auto") or (image and backend != "docker"):
            raise ConfigError(
                f"sandbox {spec!r} is not one of 'docker', 'docker:<image>', 'local', 'auto'"
            )
        return cls(backend=backend, image=image or None)  # type: ignore[arg-type]


def open_sandbox(config: SandboxConfig | str | Sandbox | None = None) -> Sandbox:
    """Resolve a config, a string or a sandbox into a `Sandbox` (close it when done).

    Raises:
        ConfigError: an unknown backend string or limit.
        NotSetUp: ``docker`` was asked for and the engine or image is missing (names the command).
    """
    if isinstance(config, Sandbox):
        return config
    if config is None:
        config = SandboxConfig()
    elif isinstance(config, str):
        config = SandboxConfig.parse(config)
    limits = config.make_limits()
    from workbench.sandbox.docker import DockerSandbox, docker_allowed
    from workbench.sandbox.local import LocalSandbox

    if config.backend == "local":
        return LocalSandbox(limits, workers=config.pool_size)
    if config.backend == "docker":
        return DockerSandbox(config.image, limits=limits, pool_size=config.pool_size)
    if docker_allowed():
        try:
            return DockerSandbox(config.image, limits=limits, pool_size=config.pool_size)
        except NotSetUp as exc:
            log.warning("sandbox auto: using LocalSandbox, NOT a security boundary (%s)", exc)
    return LocalSandbox(limits, workers=config.pool_size)
