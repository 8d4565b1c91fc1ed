"""`SandboxConfig` (the ``sandbox:`` section of task.yaml) and `open_sandbox`, the one resolver.

Strings at the edge, objects inside (STYLE habit 4): ``"docker"``, ``"docker:<image>"``,
``"local"`` or ``"auto"`` become a `Sandbox`; a `Sandbox` passes straight through. ``auto`` means
Docker: without a usable engine and image it stops with one message and never runs generated code
on the host; only ``local``, named, does that.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from workbench.errors import ConfigError, NotSetUp
from workbench.quantities import Count, Positive, Seconds
from workbench.sandbox.base import Limits, Sandbox
from workbench.sandbox.docker import DockerSandbox
from workbench.sandbox.local import LocalSandbox

__all__ = ["LimitOverrides", "SandboxConfig", "open_sandbox"]


@with_config(ConfigDict(extra="forbid"))
class LimitOverrides(TypedDict, total=False):
    """`sandbox: {limits: ...}`: the `Limits` fields a task file may change, each typed.

    Seconds and the CPU share are finite numbers above 0; the others count something (MB,
    processes, bytes, files) and are whole numbers above 0.
    """

    timeout_s: Seconds
    memory_mb: Count
    cpus: Positive
    pids: Count
    output_bytes: Count
    file_size_mb: Count
    open_files: Count


class SandboxConfig(BaseModel, extra="forbid"):
    """Where generated code runs.

    Attributes:
        backend: ``docker`` (hardened containers), ``local`` (subprocess; not a security
            boundary, used only when named) or ``auto`` (docker; without a usable engine and
            image it stops with `NotSetUp` and never falls back to ``local``).
        image: Docker image; default: the tag `workbench sandbox build` makes.
        pool_size: runs at once, each in a warm container (Docker keeps as many spares, so no
            run waits for a clean-up); default: the number of cores.
        limits: overrides of `Limits` fields, e.g. ``{"timeout_s": 30, "memory_mb": 1024}``.
    """

    backend: Literal["docker", "local", "auto"] = "auto"
    image: str | None = None
    pool_size: Count | None = None
    limits: LimitOverrides = Field(default_factory=lambda: LimitOverrides())

    def make_limits(self) -> Limits:
        """The default `Limits` with this config's overrides."""
        return Limits().replace(**self.limits)

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
        NotSetUp: ``docker`` or ``auto`` was asked for and the engine or image is missing
            (names the commands that set Docker up, and ``backend: local`` as the way out).
    """
    if isinstance(config, Sandbox):
        return config
    if config is None:
        config = SandboxConfig()
    elif isinstance(config, str):
        config = SandboxConfig.parse(config)
    limits = config.make_limits()
    if config.backend == "local":
        return LocalSandbox(limits, workers=config.pool_size)
    if config.backend == "docker":
        return DockerSandbox(config.image, limits=limits, pool_size=config.pool_size)
    try:  # auto: Docker or nothing; generated code reaches the host only when `local` is named
        return DockerSandbox(config.image, limits=limits, pool_size=config.pool_size)
    except NotSetUp as exc:
        raise NotSetUp(_no_docker_message(exc)) from exc


def _no_docker_message(exc: Exception) -> str:
    """The one message `auto` stops with: why Docker is unusable, how to get it, the way out."""
    reason = str(exc).split("; ")[0].rstrip(".") or type(exc).__name__
    return (
        f"sandbox backend 'auto' runs generated code in Docker, which is not usable here "
        f"({reason}). Get Docker: `apt-get install docker.io`, start the engine (`dockerd &` as "
        f"root, or `systemctl start docker`), then `workbench sandbox build`. Or run the code on "
        f"this machine, with no security boundary, by naming the local backend: "
        f"`sandbox: {{backend: local}}` in the task file"
    )
