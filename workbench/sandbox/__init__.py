"""sandbox layer: every execution of generated code (see DESIGN.md).

`Sandbox.run(files, command, limits) -> ExecResult`. Backends: `DockerSandbox` (hardened
containers from a warm pool; the image comes from `workbench sandbox build`), `LocalSandbox`
(subprocess + rlimits; not a security boundary) and `FunctionSandbox` (a double for tests).
`open_sandbox("docker" | "docker:<image>" | "local" | "auto" | SandboxConfig | Sandbox)`
resolves one.
"""

from workbench.sandbox.base import ExecResult, Judge, Limits, RunRequest, Sandbox, Status
from workbench.sandbox.config import SandboxConfig, open_sandbox
from workbench.sandbox.docker import DockerSandbox, allow_docker, docker_allowed
from workbench.sandbox.function import FunctionSandbox
from workbench.sandbox.image import build_image, default_image
from workbench.sandbox.local import LocalSandbox

__all__ = [
    "DockerSandbox",
    "ExecResult",
    "FunctionSandbox",
    "Judge",
    "Limits",
    "LocalSandbox",
    "RunRequest",
    "Sandbox",
    "SandboxConfig",
    "Status",
    "allow_docker",
    "build_image",
    "default_image",
    "docker_allowed",
    "open_sandbox",
]
