"""The embedded local models: catalog, setup (build + assembly) and the server process."""

from workbench.llm.local.catalog import (
    LLAMA_CPP_VERSION,
    ModelInfo,
    binary_path,
    get_model,
    known_models,
    model_path,
)
from workbench.llm.local.install import (
    SetupEvent,
    assemble_model,
    build_llama_server,
    is_model_ready,
    setup,
)
from workbench.llm.local.server import (
    ServerProcess,
    check_port_free,
    free_port,
    running_servers,
    start_llama_server,
    start_vllm_server,
)

__all__ = [
    "LLAMA_CPP_VERSION",
    "ModelInfo",
    "ServerProcess",
    "SetupEvent",
    "assemble_model",
    "binary_path",
    "build_llama_server",
    "check_port_free",
    "free_port",
    "get_model",
    "is_model_ready",
    "known_models",
    "model_path",
    "running_servers",
    "setup",
    "start_llama_server",
    "start_vllm_server",
]
